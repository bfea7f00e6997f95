'use strict';
// `npm start` itself: the CLI started as a child process with free ports and a temp data dir
// (GPFLOW_DEVSTACK_DIR), the editor answers, the demo flow's rows reach the table, SIGINT
// stops everything with no process left behind, and a second start reuses the data.
const test = require('node:test');
const { describe, it } = test;
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Client } = require('pg');
const admin = require('../dist/devstack/admin-api');
const { usePostgres } = require('./support/pg');

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'devstack', 'cli.js');

function alive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what, fn, timeoutMs = 60_000, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last && last.message ? last.message : last})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Starts the CLI; `ready` resolves once it printed its whole ready block. */
function startCli(dir, extraEnv = {}) {
  const child = spawn(process.execPath, [CLI], {
    cwd: ROOT,
    env: {
      ...process.env,
      GPFLOW_DEVSTACK_DIR: dir,
      NODE_RED_PORT: '0',
      GPSS_PORT: '0',
      OSS_PORT: '0',
      PG_PORT: '0',
      DATABASE_URL: '',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, like a shell job: Ctrl-C is then a SIGINT to the whole group.
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start not ready in 120 s:\n${output}`)), 120_000);
    const check = () => {
      // The last line of the ready block: everything above it has been printed.
      if (/Press Ctrl-C to stop\.\s*$/m.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', check);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (code ${code}, signal ${signal}) before ready:\n${output}`));
    });
  });
  return { child, ready, exited, output: () => output };
}

/** Ctrl-C as a terminal sends it: SIGINT to every process of the foreground group. */
async function stopCli(cli) {
  if (cli.child.exitCode !== null || cli.child.signalCode) return cli.exited;
  try {
    process.kill(-cli.child.pid, 'SIGINT');
  } catch {
    cli.child.kill('SIGINT');
  }
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), 60_000);
  const result = await cli.exited;
  clearTimeout(timer);
  return result;
}

/** Local addresses listening on a TCP port, from /proc/net/tcp{,6} (Linux). */
function listenAddresses(port) {
  const out = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '0A') continue; // 0A = LISTEN
      const [addr, hexPort] = cols[1].split(':');
      if (parseInt(hexPort, 16) !== port) continue;
      out.push(addr.length === 8 ? addr.match(/../g).reverse().map((h) => parseInt(h, 16)).join('.') : `[${addr}]`);
    }
  }
  return out;
}

/**
 * Every folder under the stack dir is 0700 and every file has no group/other bits (the
 * secret-holding ones exactly 0600); the stack dir itself is 0700, or 0710 with the postgres
 * group when we are root (PostgreSQL runs as postgres and must reach its data dir).
 */
function assertPrivateTree(dir, mustExist) {
  const isRoot = process.getuid && process.getuid() === 0;
  const top = fs.statSync(dir);
  if (isRoot) {
    const pgGid = Number(require('node:child_process').execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    assert.equal((top.mode & 0o777).toString(8), '710', 'the stack dir: owner, and traverse-only for the postgres group');
    assert.equal(top.gid, pgGid);
  } else {
    assert.equal((top.mode & 0o777).toString(8), '700', 'the stack dir');
  }
  const loose = [];
  let files = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      let st;
      try {
        st = fs.lstatSync(full);
      } catch {
        continue; // a running service's temporary file, gone already
      }
      if (st.isSymbolicLink()) continue;
      if (st.isDirectory()) {
        if ((st.mode & 0o777) !== 0o700) loose.push(`${path.relative(dir, full)}/ ${(st.mode & 0o777).toString(8)}`);
        walk(full);
      } else {
        files++;
        if ((st.mode & 0o077) !== 0) loose.push(`${path.relative(dir, full)} ${(st.mode & 0o777).toString(8)}`);
      }
    }
  };
  walk(dir);
  assert.deepEqual(loose, [], 'files and folders with group/other access');
  assert.ok(files > 20, `walked ${files} files`);
  for (const rel of mustExist) {
    assert.equal((fs.statSync(path.join(dir, rel)).mode & 0o777).toString(8), '600', rel);
  }
}

const SECRET_FILES = ['secrets.json', 'state.json', 'node-red/settings.js', 'node-red/flows.json', 'node-red/flows_cred.json', 'node-red/node-red.log', 'gpss-pg.log', 'oss-emulator.log'];

function readState(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
}

/** The gpss-write nodes of the deployed flows and the table each writes to. */
function streamWriters(flows) {
  return flows.filter((n) => n.type === 'gpss-write' && n.table);
}

test('npm start brings up the stack, the demo flow writes rows, Ctrl-C stops everything, a second start reuses the data', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-devstack-'));
  const clis = [];
  t.after(async () => {
    for (const cli of clis) await stopCli(cli);
    if (!process.env.KEEP_DEVSTACK_DIR) fs.rmSync(dir, { recursive: true, force: true });
  });

  // Files of an older version, readable by everybody, are made private by the start.
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'node-red'), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'node-red', 'settings.js'), '// old\n', { mode: 0o644 });
  fs.writeFileSync(path.join(dir, 'gpss-pg.log'), 'old line\n', { mode: 0o644 });

  // First start: a new cluster.
  const first = startCli(dir);
  clis.push(first);
  await first.ready;
  const out = first.output();
  for (const step of ['PostgreSQL', 'demo tables', 'gpss-pg', 'OSS emulator', 'Node-RED', 'example flows']) {
    assert.match(out, new RegExp(`✓ ${step}`), `progress line for ${step}`);
  }
  const state = readState(dir);
  assert.match(out, new RegExp(`Node-RED editor\\s+${state.editorUrl.replace(/[/.]/g, '\\$&')}`));
  for (const addr of [state.gpss.address, state.oss.endpoint]) assert.ok(out.includes(addr), `address ${addr} printed`);
  assert.match(state.editorUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.match(state.gpss.address, /^127\.0\.0\.1:\d+$/);
  assert.match(state.oss.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  const secrets = JSON.parse(fs.readFileSync(path.join(dir, 'secrets.json'), 'utf8'));
  assert.ok(!out.includes(secrets.pgPassword), 'the database password is not printed');
  assert.ok(!out.includes(secrets.ossAccessKeySecret), 'the OSS secret is not printed');

  // Every service listens on loopback only.
  const ports = {
    'Node-RED': Number(new URL(state.nodeRed.url).port),
    'gpss-pg': Number(state.gpss.address.split(':')[1]),
    'OSS emulator': Number(new URL(state.oss.endpoint).port),
    PostgreSQL: Number(new URL(state.postgres.url).port),
  };
  for (const [name, port] of Object.entries(ports)) {
    const addrs = listenAddresses(port);
    assert.ok(addrs.length > 0, `${name} listens on ${port}`);
    assert.deepEqual([...new Set(addrs)], ['127.0.0.1'], `${name} binds to loopback only`);
  }

  // The editor answers.
  const editor = await admin.adminRequest(state.nodeRed.url, 'GET', '/', undefined, { Accept: 'text/html' });
  assert.equal(editor.status, 200);
  assert.match(editor.body, /Node-RED/);
  // The dialogs' shared script, served from the linked package's resources/ folder.
  const shared = await admin.adminRequest(state.nodeRed.url, 'GET', '/resources/@gpflow/node-red-greenplum/editor-common.js');
  assert.equal(shared.status, 200);
  assert.match(shared.body, /var gpflowEditor = /);

  // The examples are deployed with config nodes pointing at this stack, secrets not in flows.
  const { flows } = await admin.getFlows(state.nodeRed.url);
  const db = flows.find((n) => n.type === 'greenplum-db');
  const srv = flows.find((n) => n.type === 'gpss-server');
  const acct = flows.find((n) => n.type === 'oss-account');
  assert.ok(db && srv && acct, 'the three config nodes are deployed');
  assert.equal(`${srv.host}:${srv.port}`, state.gpss.address);
  assert.equal(acct.endpoint, state.oss.endpoint);
  assert.equal(Number(db.port), Number(new URL(state.postgres.url).port));
  const flowText = JSON.stringify(flows);
  assert.ok(!flowText.includes(secrets.pgPassword) && !flowText.includes(secrets.ossAccessKeySecret), 'no secret in /flows');
  const cred = await admin.adminRequest(state.nodeRed.url, 'GET', `/credentials/greenplum-db/${db.id}`);
  assert.equal(cred.json().has_password, true, 'the database password is stored as a credential');

  // The demo stream flow: trigger its injects and see the rows committed in the table.
  const writers = streamWriters(flows);
  assert.ok(writers.length > 0, 'a gpss-write example is deployed');
  const writer = writers.find((w) => w.mode === 'stream') || writers[0];
  const injects = flows.filter((n) => n.type === 'inject' && n.z === writer.z);
  assert.ok(injects.length > 0, 'the stream example has an inject node');
  const pgUrl = new URL(state.postgres.url);
  pgUrl.password = secrets.pgPassword;
  const client = new Client({ connectionString: pgUrl.toString() });
  await client.connect();
  try {
    const table = writer.schema ? `"${writer.schema}"."${writer.table}"` : `"${writer.table}"`;
    const count = async () => Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
    const before = await count();
    for (const inject of injects) {
      const res = await admin.adminRequest(state.nodeRed.url, 'POST', `/inject/${inject.id}`);
      assert.equal(res.status, 200);
    }
    const after = await waitFor(`rows in ${table}`, async () => {
      const n = await count();
      return n > before ? n : 0;
    });
    assert.ok(after > before);
  } finally {
    await client.end();
  }

  // The OSS demo: "export now" of the table example uploads an object to the demo bucket,
  // through the oss-account re-pointed at the emulator with the generated keys.
  const exporter = flows.find((n) => n.type === 'oss-export' && n.source === 'table' && n.mode !== 'external');
  assert.ok(exporter, 'the table export example is deployed');
  const exportInject = flows.find((n) => n.type === 'inject' && n.z === exporter.z);
  assert.equal((await admin.adminRequest(state.nodeRed.url, 'POST', `/inject/${exportInject.id}`)).status, 200);
  const OSS = require('ali-oss');
  const store = new OSS({
    region: 'oss-cn-hangzhou',
    endpoint: state.oss.endpoint,
    bucket: state.oss.bucket,
    accessKeyId: secrets.ossAccessKeyId,
    accessKeySecret: secrets.ossAccessKeySecret,
    secure: false,
  });
  const exported = await waitFor(`an object under ${exporter.prefix}`, async () => {
    const res = await store.list({ prefix: exporter.prefix, 'max-keys': 10 });
    return res.objects && res.objects.length ? res.objects : null;
  });
  assert.ok(exported[0].size > 0);

  // Secrets at rest: settings.js (credentialSecret), flows_cred.json (written by Node-RED
  // itself), secrets.json, logs, OSS data and PostgreSQL's files are private.
  assertPrivateTree(dir, SECRET_FILES);

  // Ctrl-C: everything stops, nothing left behind.
  const nodeRedPid = state.nodeRed.pid;
  const pgPid = state.postgres.pid;
  assert.ok(alive(nodeRedPid) && alive(pgPid), 'Node-RED and PostgreSQL run as processes');
  const { code } = await stopCli(first);
  assert.equal(code, 0, `exit code (output:\n${first.output()})`);
  assert.match(first.output(), /Stopped\./);
  await waitFor('Node-RED and PostgreSQL to exit', () => !alive(nodeRedPid) && !alive(pgPid), 15_000);
  assert.ok(!fs.existsSync(path.join(dir, 'state.json')), 'state file removed');
  assert.ok(!fs.existsSync(path.join(dir, 'pg', 'postmaster.pid')), 'PostgreSQL shut down cleanly');

  // Second start: same data, no new cluster; the rows written before are still there.
  const second = startCli(dir);
  clis.push(second);
  await second.ready;
  assert.match(second.output(), /reused data/);
  assert.match(second.output(), /kept your \d+ node\(s\)/);
  const state2 = readState(dir);
  const pgUrl2 = new URL(state2.postgres.url);
  pgUrl2.password = secrets.pgPassword;
  const client2 = new Client({ connectionString: pgUrl2.toString() });
  await client2.connect();
  try {
    const n = Number((await client2.query(`SELECT count(*) AS n FROM "${writer.table}"`)).rows[0].n);
    assert.ok(n > 0, 'rows from the first run persisted');
  } finally {
    await client2.end();
  }
  // SIGTERM works as well as Ctrl-C.
  second.child.kill('SIGTERM');
  const res2 = await second.exited;
  assert.equal(res2.code, 0);
  await waitFor('processes to exit', () => !alive(state2.nodeRed.pid) && !alive(state2.postgres.pid), 15_000);

  // Killed hard (SIGKILL, no chance to clean up): Node-RED notices and exits by itself; the
  // next start finds PostgreSQL still running on the data dir and restarts it.
  const third = startCli(dir);
  clis.push(third);
  await third.ready;
  const state3 = readState(dir);
  third.child.kill('SIGKILL');
  await third.exited;
  await waitFor('Node-RED to exit after its parent was killed', () => !alive(state3.nodeRed.pid), 20_000);
  assert.ok(alive(state3.postgres.pid), 'PostgreSQL (a daemon) survived the kill');
  const fourth = startCli(dir);
  clis.push(fourth);
  await fourth.ready;
  assert.match(fourth.output(), /was still running/);
  const state4 = readState(dir);
  assert.equal((await stopCli(fourth)).code, 0);
  await waitFor('processes to exit', () => !alive(state4.nodeRed.pid) && !alive(state4.postgres.pid), 15_000);
});

test('without PostgreSQL binaries the lookup npm start runs first says exactly how to install them', () => {
  const { postgresBinDirFrom } = require('../dist/devstack/postgres');
  assert.throws(() => postgresBinDirFrom(['/nonexistent/bin']), /sudo apt-get install -y postgresql.*DATABASE_URL/s);
  const found = postgresBinDirFrom(['/nonexistent/bin', ...fs.readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin`)]);
  assert.ok(fs.existsSync(path.join(found, 'pg_ctl')));
});

describe('npm start with DATABASE_URL', () => {
  const pg = usePostgres();
  it('uses that server instead of a private cluster, creates the demo table there, never prints the password', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-devstack-url-'));
    const cli = startCli(dir, { DATABASE_URL: pg.url });
    try {
      await cli.ready;
      assert.match(cli.output(), /✓ PostgreSQL \(DATABASE_URL\)/);
      assert.ok(!fs.existsSync(path.join(dir, 'pg')), 'no private cluster initialised');
      // (The test cluster's password may be a common word like "postgres": look for it in URL position.)
      assert.ok(!cli.output().includes(`:${encodeURIComponent(pg.password)}@`), 'password not printed');
      assert.match(cli.output(), /postgres:\/\/[^:\s]+:\*\*\*@/, 'the URL is printed redacted');
      const state = readState(dir);
      const { flows } = await admin.getFlows(state.nodeRed.url);
      const db = flows.find((n) => n.type === 'greenplum-db');
      assert.deepEqual([db.host, Number(db.port), db.database, db.user], [pg.host, pg.port, pg.database, pg.user]);
      const client = new Client({ connectionString: pg.url });
      await client.connect();
      try {
        const r = await client.query("SELECT to_regclass('public.sensor_readings') AS t");
        assert.equal(r.rows[0].t, 'sensor_readings');
      } finally {
        await client.end();
      }
      assert.equal((await stopCli(cli)).code, 0);
      assert.ok(!alive(state.nodeRed.pid));
    } finally {
      await stopCli(cli);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
