'use strict';
// A real Greenplum 6 cluster for the Greenplum suites (test/greenplum/): one coordinator and N
// primary segments on loopback, started by hand from the build of scripts/greenplum/build.sh
// (Greenplum's gpinitsystem/gpstart need Python 2, which Debian 12 lacks). The recipe and what
// it was measured against are in ../shared/greenplum/README.md.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const { Client } = require('pg');

const repoRoot = path.resolve(__dirname, '..', '..');

/** Where the Greenplum and oss_ext source archives live: GPFLOW_GREENPLUM_SOURCES, else ../shared/greenplum beside the repo. */
function greenplumSourcesDir() {
  return path.resolve(process.env.GPFLOW_GREENPLUM_SOURCES || path.join(repoRoot, '..', 'shared', 'greenplum'));
}

const ARCHIVES = ['gpdb-6.24.3-src.tar.xz', 'aliyun_oss_ext-src.tar.gz'];

/** Why the Greenplum suites cannot run here, or null when the sources are present. */
function greenplumSkipReason(dir = greenplumSourcesDir()) {
  const missing = ARCHIVES.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length === ARCHIVES.length && !fs.existsSync(dir)) return `the Greenplum sources folder ${dir} does not exist`;
  if (missing.length) return `${dir} lacks ${missing.join(' and ')}`;
  return null;
}

/** Builds (or finds in the cache) Greenplum + oss_ext; returns the installation directory. */
function buildGreenplum({ sourcesDir = greenplumSourcesDir(), log = (s) => process.stderr.write(s) } = {}) {
  const script = path.join(repoRoot, 'scripts', 'greenplum', 'build.sh');
  const res = spawnSync('bash', [script, sourcesDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (res.stderr) log(res.stderr);
  if (res.status !== 0) throw new Error(`scripts/greenplum/build.sh failed (exit ${res.status})`);
  const prefix = res.stdout.trim().split('\n').pop();
  if (!prefix || !fs.existsSync(path.join(prefix, 'bin', 'postgres'))) throw new Error(`build.sh printed no installation directory (got ${JSON.stringify(prefix)})`);
  return prefix;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = require('node:net').createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** uid/gid of the OS user the servers run as (they refuse root). */
function osUser(name) {
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return { name, uid, gid };
}

/**
 * Where the throwaway data directories go: GPFLOW_GREENPLUM_RUN_DIR, else /dev/shm when it
 * has room (three copies of the template are written per run: on a busy shared disk that
 * took 12 s, in memory under 1 s), else the temp dir.
 */
function runParent() {
  if (process.env.GPFLOW_GREENPLUM_RUN_DIR) return process.env.GPFLOW_GREENPLUM_RUN_DIR;
  try {
    const st = fs.statfsSync('/dev/shm');
    if (st.bavail * st.bsize > 4 * 1024 ** 3) return '/dev/shm';
  } catch { /* no /dev/shm */ }
  return os.tmpdir();
}

/** The OS user (and database superuser) the cluster runs as: build.sh's choice. */
function defaultUser() {
  if (process.getuid() !== 0) return os.userInfo().username;
  return process.env.GPFLOW_GREENPLUM_USER || 'gpadmin';
}

/** Tries to connect until the server answers `select 1` (each attempt bounded), or throws after timeoutMs. */
async function waitForServer(config, { timeoutMs, isAlive, describe }) {
  const deadline = Date.now() + timeoutMs;
  let lastError = null;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`${describe} exited during startup${lastError ? ` (last error: ${lastError.message})` : ''}`);
    const client = new Client({ ...config, connectionTimeoutMillis: 5000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return;
    } catch (err) {
      lastError = err;
      await client.end().catch(() => undefined);
      await sleep(200);
    }
  }
  throw new Error(`${describe} did not accept connections within ${timeoutMs} ms (last error: ${lastError && lastError.message})`);
}

/**
 * Starts a coordinator and `segments` primaries on 127.0.0.1 from copies of the build's
 * template data directory. Returns { url, host, port, user, prefix, runDir, segmentPorts,
 * timings, stop() }. Settings are for throwaway clusters (fsync off).
 */
async function startGreenplumCluster(options = {}) {
  // Free ports are picked before the servers bind them; on a busy machine another process can
  // take one in between ("Address already in use"): start again on new ports, twice at most.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(options);
    } catch (err) {
      if (attempt >= 3 || !/Address already in use/.test(err.message)) throw err;
      fs.rmSync(err.runDir, { recursive: true, force: true });
      process.stderr.write(`greenplum: a port was taken during startup; starting again (attempt ${attempt + 1})\n`);
    }
  }
}

async function startClusterOnce({ prefix, segments = 2, user = defaultUser(), log = () => undefined } = {}) {
  const t0 = Date.now();
  const owner = osUser(user);
  const template = path.join(prefix, 'template', 'QD');
  if (!fs.existsSync(path.join(template, 'PG_VERSION'))) throw new Error(`no data template at ${template}: run scripts/greenplum/build.sh`);
  const runDir = fs.mkdtempSync(path.join(runParent(), 'gpflow-gp-'));
  fs.chmodSync(runDir, 0o755);
  const instances = [{ name: 'QD', dbid: 1, content: -1 }];
  for (let i = 0; i < segments; i++) instances.push({ name: `SEG${i}`, dbid: i + 2, content: i });
  const { promisify } = require('node:util');
  const execFileAsync = promisify(require('node:child_process').execFile);
  for (const inst of instances) {
    inst.dataDir = path.join(runDir, inst.name);
    inst.port = await freePort();
  }
  // cp -a keeps the owner and the 0700 mode the server insists on; --sparse keeps the WAL's holes.
  await Promise.all(instances.map((inst) => execFileAsync('cp', ['-a', '--sparse=always', template, inst.dataDir])));
  if (process.getuid() === 0) execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, ...instances.map((i) => i.dataDir)]);
  const tCopied = Date.now();
  // GPHOME: oss_ext's gzip writer executes $GPHOME/bin/pigz.
  const env = { ...process.env, GPHOME: prefix, LD_LIBRARY_PATH: path.join(prefix, 'lib') };
  delete env.PGOPTIONS;
  const procs = new Map();

  function startInstance(inst, role, extra = []) {
    const logFile = path.join(runDir, `${inst.name}-${role}.log`);
    const fd = fs.openSync(logFile, 'a');
    const args = [
      '-D', inst.dataDir, '-p', String(inst.port), ...extra,
      '-c', `gp_dbid=${inst.dbid}`, '-c', `gp_contentid=${inst.content}`, '-c', `gp_role=${role}`,
      '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${inst.dataDir}`,
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'logging_collector=off', '-c', 'max_connections=100', '-c', 'shared_buffers=64MB',
    ];
    const ids = process.getuid() === 0 ? { uid: owner.uid, gid: owner.gid } : {};
    const child = spawn(path.join(prefix, 'bin', 'postgres'), args, { env, stdio: ['ignore', fd, fd], detached: true, ...ids });
    fs.closeSync(fd);
    const entry = { inst, child, exited: false, logFile };
    child.on('exit', () => { entry.exited = true; });
    procs.set(inst.name, entry);
    return entry;
  }

  async function stopInstance(name, timeoutMs = 30000) {
    const entry = procs.get(name);
    if (!entry || entry.exited) return;
    try { process.kill(entry.child.pid, 'SIGINT'); } catch { /* already gone */ }
    const deadline = Date.now() + timeoutMs;
    while (!entry.exited && Date.now() < deadline) await sleep(50);
    if (!entry.exited) {
      try { process.kill(entry.child.pid, 'SIGQUIT'); } catch { /* already gone */ }
      while (!entry.exited && Date.now() < deadline + 5000) await sleep(50);
    }
  }

  async function waitForLogLine(entry, re, timeoutMs, describe) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (entry.exited) throw new Error(`${describe} exited during startup`);
      let text = '';
      try { text = fs.readFileSync(entry.logFile, 'utf8'); } catch { /* not yet */ }
      if (re.test(text)) return;
      await sleep(100);
    }
    throw new Error(`${describe} did not start within ${timeoutMs} ms`);
  }

  const tail = (entry) => {
    try { return fs.readFileSync(entry.logFile, 'utf8').split('\n').slice(-15).join('\n'); } catch { return ''; }
  };
  const base = { host: '127.0.0.1', user, database: 'postgres' };
  const qd = instances[0];
  try {
    // 1. Coordinator in utility mode: register every instance in gp_segment_configuration.
    const util = startInstance(qd, 'utility');
    const utilConfig = { ...base, port: qd.port, options: '-c gp_session_role=utility' };
    await waitForServer(utilConfig, { timeoutMs: 60000, isAlive: () => !util.exited, describe: 'coordinator (utility mode)' })
      .catch((err) => { throw new Error(`${err.message}\n${tail(util)}`); });
    const c = new Client(utilConfig);
    await c.connect();
    try {
      await c.query('set allow_system_table_mods = true');
      for (const inst of instances) {
        await c.query(
          `insert into gp_segment_configuration (dbid, content, role, preferred_role, mode, status, port, hostname, address, datadir)
           values ($1, $2, 'p', 'p', 'n', 'u', $3, 'localhost', '127.0.0.1', $4)`,
          [inst.dbid, inst.content, inst.port, inst.dataDir],
        );
      }
    } finally {
      await c.end();
    }
    await stopInstance('QD');
    const tRegistered = Date.now();
    // 2. Segments, then the coordinator as dispatcher. Without -E the FTS and transaction
    //    recovery workers do not start and every login hangs in "startup".
    //    A segment in execute mode takes a direct login for a reader gang without its writer
    //    ("reader could not find writer proc entry"), so its readiness is read from its log;
    //    the dispatcher's query below then reaches every segment for real.
    const segEntries = instances.slice(1).map((inst) => startInstance(inst, 'execute'));
    await Promise.all(segEntries.map((e) => waitForLogLine(e, /database system is ready to accept connections/, 60000, `segment ${e.inst.content}`)
      .catch((err) => { throw new Error(`${err.message}\n${tail(e)}`); })));
    const dispatch = startInstance(qd, 'dispatch', ['-E']);
    await waitForServer({ ...base, port: qd.port }, { timeoutMs: 90000, isAlive: () => !dispatch.exited, describe: 'coordinator (dispatch mode)' })
      .catch((err) => { throw new Error(`${err.message}\n${tail(dispatch)}`); });
    // The cluster answers only when a query reaches every segment.
    const check = new Client({ ...base, port: qd.port });
    await check.connect();
    try {
      const { rows } = await check.query('select count(distinct gp_segment_id)::int as n from gp_dist_random(\'gp_id\')');
      if (rows[0].n !== segments) throw new Error(`expected ${segments} segments to answer, got ${rows[0].n}`);
    } finally {
      await check.end();
    }
    const tReady = Date.now();
    log(`greenplum: coordinator 127.0.0.1:${qd.port} + ${segments} segments ready in ${tReady - t0} ms ` +
      `(copy ${tCopied - t0} ms, register ${tRegistered - tCopied} ms, start ${tReady - tRegistered} ms)`);
    let stopped = false;
    return {
      host: '127.0.0.1',
      port: qd.port,
      user,
      url: `postgres://${encodeURIComponent(user)}@127.0.0.1:${qd.port}/postgres`,
      prefix,
      runDir,
      segmentPorts: instances.slice(1).map((i) => i.port),
      timings: { readyMs: tReady - t0 },
      /** Stops the coordinator, then the segments; removes the data unless keepData. */
      async stop({ keepData = false } = {}) {
        if (stopped) return;
        stopped = true;
        await stopInstance('QD');
        await Promise.all(instances.slice(1).map((i) => stopInstance(i.name)));
        if (!keepData) fs.rmSync(runDir, { recursive: true, force: true });
      },
      /** For process-exit handlers: SIGQUIT to every postmaster still running (by pid), no waiting. */
      killNow() {
        for (const e of procs.values()) if (!e.exited) try { process.kill(e.child.pid, 'SIGQUIT'); } catch { /* gone */ }
      },
    };
  } catch (err) {
    for (const name of procs.keys()) await stopInstance(name, 10000);
    const logs = [...procs.values()].map(tail).join('\n');
    const e = err instanceof Error ? err : new Error(String(err));
    if (!e.message.includes('Address already in use') && /Address already in use/.test(logs)) e.message += '\n(Address already in use)';
    e.runDir = runDir;
    // Keep the servers' logs, not three copies of the data directory (in memory under /dev/shm).
    for (const inst of instances) fs.rmSync(inst.dataDir, { recursive: true, force: true });
    process.stderr.write(`greenplum: startup failed; logs kept in ${runDir}\n`);
    throw e;
  }
}

/**
 * For test files under test/greenplum/: the cluster the runner started (GREENPLUM_TEST_URL).
 * Fails loudly when run any other way, so these suites never pass by not running.
 */
function greenplumFromEnv() {
  const url = process.env.GREENPLUM_TEST_URL;
  if (!url) throw new Error('GREENPLUM_TEST_URL is not set: run the Greenplum suites with `npm run test:greenplum`');
  const u = new URL(url);
  return {
    url,
    host: u.hostname,
    port: Number(u.port),
    user: decodeURIComponent(u.username),
    prefix: process.env.GREENPLUM_HOME || '',
  };
}

/** A fresh database on the cluster for one test file; dropped by the returned cleanup. */
async function createGreenplumDatabase(serverUrl, name) {
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(serverUrl);
  u.pathname = '/' + name;
  return u.toString();
}

/**
 * usePostgres()'s counterpart for test/greenplum/: registers a `before` hook creating a fresh
 * database on the cluster and returns a handle filled in there with the same fields (url,
 * serverUrl, host, port, user, password, database), so fixtures such as useGpssServer work
 * unchanged. The whole cluster is removed after the run.
 */
function useGreenplumDatabase(prefix = 'g') {
  const { before } = require('node:test');
  const handle = { url: '', serverUrl: '', host: '', port: 0, user: '', password: '', database: '' };
  before(async () => {
    const gp = greenplumFromEnv();
    const database = `${prefix}_${require('node:crypto').randomBytes(5).toString('hex')}`;
    const url = await createGreenplumDatabase(gp.url, database);
    Object.assign(handle, { serverUrl: gp.url, url, database, host: gp.host, port: gp.port, user: gp.user, password: '' });
  });
  return handle;
}

/**
 * The OSS emulator where oss_ext can reach it: with a bare-IP endpoint oss_ext speaks
 * path-style to port 80 only, so the emulator listens on port 80 of a random 127.x.y.z (all
 * loopback on Linux; binding port 80 needs root, as the harness runs). Returns the
 * startTestOssEmulator handle plus `ip`.
 */
async function startOssEmulatorForOssExt(options = {}) {
  const { startTestOssEmulator } = require('./oss');
  const crypto = require('node:crypto');
  let lastErr;
  for (let attempt = 0; attempt < 20; attempt++) {
    const ip = `127.${1 + crypto.randomInt(250)}.${crypto.randomInt(256)}.${1 + crypto.randomInt(250)}`;
    try {
      const oss = await startTestOssEmulator({ ...options, listen: `${ip}:80` });
      return Object.assign(oss, { ip });
    } catch (err) {
      lastErr = err;
      if (!/EADDRINUSE/.test(err.message)) break;
    }
  }
  throw new Error(`the OSS emulator must listen on a loopback address at port 80 for oss_ext's path-style requests: ${lastErr.message}`);
}

module.exports = {
  startOssEmulatorForOssExt,
  greenplumSourcesDir, greenplumSkipReason, buildGreenplum, startGreenplumCluster, greenplumFromEnv, createGreenplumDatabase, useGreenplumDatabase,
};
