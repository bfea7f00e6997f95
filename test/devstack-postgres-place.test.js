'use strict';
// Where `npm start` puts PostgreSQL's data: under the stack dir when the postgres OS user can
// reach it, else (root, checkout under a 0700 folder such as /root) a private folder of the
// postgres user under /var/tmp, where a real cluster then initialises and starts.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');
const { Client } = require('pg');
const { choosePostgresDataDir, privateFolderName } = require('../dist/devstack/postgres-place');
const { startPostgres } = require('../dist/devstack/postgres');

const isRoot = process.getuid() === 0;
const CLI = path.join(__dirname, '..', 'dist', 'devstack', 'cli.js');

/** `npm start` (the CLI) as a child in its own process group; resolves once ready or rejects. */
function startCli(stackDir) {
  const child = spawn(process.execPath, [CLI], {
    env: { ...process.env, GPFLOW_DEVSTACK_DIR: stackDir, NODE_RED_PORT: '0', GPSS_PORT: '0', OSS_PORT: '0', PG_PORT: '0', DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start not ready in 120 s:\n${output}`)), 120_000);
    child.stdout.on('data', (d) => {
      output += d;
      if (/Press Ctrl-C to stop\.\s*$/m.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (d) => (output += d));
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (code ${code}) before ready:\n${output}`));
    });
  });
  const stop = async () => {
    if (child.exitCode === null && !child.signalCode) process.kill(-child.pid, 'SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return { ready, stop, output: () => output };
}

test('as root from a 0700 root-owned folder: PostgreSQL data goes to a private postgres folder and a cluster starts there', async () => {
  const locked = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-locked-'));
  fs.chmodSync(locked, 0o700);
  const stackDir = path.join(locked, 'project', '.devstack');
  fs.mkdirSync(stackDir, { recursive: true });
  let folder = null;
  try {
    const place = choosePostgresDataDir(stackDir);
    if (!isRoot) {
      // Not root: PostgreSQL runs as us and reaches the stack dir.
      assert.deepEqual(place, { dataDir: path.join(stackDir, 'pg') });
      return;
    }
    folder = path.dirname(place.dataDir);
    assert.equal(path.basename(folder), privateFolderName(stackDir));
    assert.match(place.relocated, new RegExp(`cannot reach .*${path.basename(locked)}.*data is in ${folder}.*GPFLOW_DEVSTACK_DIR`));
    const st = fs.statSync(folder);
    assert.equal(st.uid, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), 'owned by postgres');
    assert.equal(st.mode & 0o777, 0o700, 'private to postgres');
    assert.deepEqual(choosePostgresDataDir(stackDir), place, 'the next start finds the same place');

    const cluster = await startPostgres({ dataDir: place.dataDir, fast: true, password: 'place-test' });
    try {
      const client = new Client({ connectionString: cluster.url });
      await client.connect();
      const { rows } = await client.query('SELECT current_setting($1) AS dir', ['data_directory']);
      await client.end();
      assert.equal(rows[0].dir, place.dataDir);
    } finally {
      cluster.stop({ removeData: true });
    }

    // Once the postgres user can traverse the checkout again, the data stays under the stack dir.
    fs.chmodSync(locked, 0o711);
    assert.deepEqual(choosePostgresDataDir(stackDir), { dataDir: path.join(stackDir, 'pg') });
  } finally {
    fs.rmSync(locked, { recursive: true, force: true });
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
  }
});

test('not root, or the stack dir reachable: data under <stack dir>/pg, nothing created elsewhere', () => {
  const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-roots-'));
  try {
    const never = () => assert.fail('no traversal check expected when not root');
    assert.deepEqual(choosePostgresDataDir('/srv/app/.devstack', { isRoot: false, postgresCanTraverse: never, tempRoots: [tempRoot] }), {
      dataDir: '/srv/app/.devstack/pg',
    });
    assert.deepEqual(choosePostgresDataDir('/srv/app/.devstack', { isRoot: true, postgresCanTraverse: () => true, tempRoots: [tempRoot] }), {
      dataDir: '/srv/app/.devstack/pg',
    });
    assert.deepEqual(fs.readdirSync(tempRoot), []);
  } finally {
    fs.rmSync(tempRoot, { recursive: true, force: true });
  }
});

test('a folder of that name that is a symlink or belongs to another user is refused, not used', () => {
  const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-roots-'));
  const stackDir = '/root/somewhere/.devstack';
  const options = { isRoot: true, postgresCanTraverse: (d) => d === tempRoot, tempRoots: ['/nonexistent-gpflow', tempRoot] };
  const target = path.join(tempRoot, privateFolderName(stackDir));
  try {
    fs.symlinkSync('/etc', target);
    assert.throws(() => choosePostgresDataDir(stackDir, options), /is not a directory of the postgres user; remove it/);
    fs.rmSync(target);
    fs.mkdirSync(target);
    // As root: a folder of nobody; otherwise ours, which is not postgres's either.
    const other = isRoot ? 65534 : process.getuid();
    if (isRoot) fs.chownSync(target, other, other);
    assert.throws(() => choosePostgresDataDir(stackDir, options), /is not a directory of the postgres user/);
    assert.equal(fs.statSync(target).uid, other, 'left as it was');
    fs.rmSync(target, { recursive: true });
    assert.throws(
      () => choosePostgresDataDir(stackDir, { ...options, postgresCanTraverse: () => false }),
      /cannot reach \/root\/somewhere nor any of .*GPFLOW_DEVSTACK_DIR/,
    );
  } finally {
    fs.rmSync(tempRoot, { recursive: true, force: true });
  }
});

test('npm start from a checkout under a 0700 root folder comes up, says where the data went, and stops cleanly', async () => {
  const locked = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-locked-'));
  fs.chmodSync(locked, 0o700);
  const stackDir = path.join(locked, 'checkout', '.devstack');
  const expected = choosePostgresDataDir(stackDir);
  const cli = startCli(stackDir);
  try {
    await cli.ready;
    const state = JSON.parse(fs.readFileSync(path.join(stackDir, 'state.json'), 'utf8'));
    assert.equal(state.postgres.dataDir, expected.dataDir);
    if (isRoot) {
      assert.ok(!state.postgres.dataDir.startsWith(locked), 'the data is outside the unreachable folder');
      assert.ok(cli.output().includes(`data is in ${path.dirname(expected.dataDir)}`), cli.output());
    }
    const { pgPassword } = JSON.parse(fs.readFileSync(path.join(stackDir, 'secrets.json'), 'utf8'));
    const client = new Client({ connectionString: state.postgres.url.replace(':***@', `:${encodeURIComponent(pgPassword)}@`) });
    await client.connect();
    const { rows } = await client.query('SELECT count(*)::int AS n FROM public.sensor_readings');
    await client.end();
    assert.ok(rows[0].n >= 0);
    assert.equal(await cli.stop(), 0, cli.output());
  } finally {
    await cli.stop();
    fs.rmSync(locked, { recursive: true, force: true });
    if (isRoot) fs.rmSync(path.dirname(expected.dataDir), { recursive: true, force: true });
  }
});
