'use strict';
// Shared pieces of the chaos suite (`npm run test:chaos`): where figures and artifacts go
// (RELIABILITY_OUT), the run's secrets (distinctive random passwords the secrets scan looks
// for afterwards), a PostgreSQL cluster owned by the test file (so it can be restarted),
// gpss-pg as its own process, and the delivery accounting every test reports.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const { Client } = require('pg');
const { startThrowawayCluster } = require('../support/pg');

const REPO = path.resolve(__dirname, '..', '..');
const GPSS_CLI = path.join(REPO, 'dist', 'gpss-server', 'cli.js');

/** The run's output directory: figures in results/, everything the nodes produced in artifacts/. */
function outDir() {
  if (!process.env.RELIABILITY_OUT) process.env.RELIABILITY_OUT = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-chaos-'));
  fs.mkdirSync(process.env.RELIABILITY_OUT, { recursive: true });
  return process.env.RELIABILITY_OUT;
}

/**
 * The run's secrets, made once per run (secrets.json, which the scan itself skips). Random and
 * long so that a hit in an artifact can only be a leak.
 */
function secrets() {
  const file = path.join(outDir(), 'secrets.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const r = (prefix) => `${prefix}${crypto.randomBytes(12).toString('hex')}`;
  const s = { dbPassword: r('Pw'), ossAccessKeySecret: r('Ak'), credentialSecret: r('Cs') };
  fs.writeFileSync(file, JSON.stringify(s, null, 2));
  return s;
}

function artifactDir(name) {
  const dir = path.join(outDir(), 'artifacts', name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** JSON that survives Buffers, Errors, bigints and cycles (messages as a Catch/debug node sees them). */
function safeJson(value) {
  const seen = new WeakSet();
  return JSON.stringify(value, (key, v) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Error) return { name: v.name, message: v.message, stack: v.stack, ...v };
    if (v && typeof v === 'object') {
      if (seen.has(v)) return '[cycle]';
      seen.add(v);
      if (v.type === 'Buffer' && Array.isArray(v.data)) return Buffer.from(v.data).toString('latin1');
    }
    return v;
  });
}

/** Writes messages as NDJSON (at most `cap`, the first ones plus every failed one go first). */
function saveMessages(name, file, msgs, cap = 20000) {
  const lines = msgs.slice(0, cap).map(safeJson);
  fs.writeFileSync(path.join(artifactDir(name), file), lines.join('\n') + '\n');
}

function saveText(name, file, text) {
  fs.writeFileSync(path.join(artifactDir(name), file), text);
}

/** Records one scenario's figures for `npm run reliability`. */
function record(figures) {
  const dir = path.join(outDir(), 'results');
  fs.mkdirSync(dir, { recursive: true });
  const full = { at: new Date().toISOString(), ...figures };
  fs.writeFileSync(path.join(dir, `${figures.id}.json`), JSON.stringify(full, null, 2));
  return full;
}

/**
 * The accounting of a stream test. sent: ids sent; acked: ids acknowledged (passed on by
 * gpss-write, or recorded by a Complete/file node); caught: ids that reached Catch;
 * tableCounts: Map id → number of rows in the table.
 * lost = acknowledged but absent from the table; unaccounted = sent but neither acknowledged,
 * in Catch nor in the table when the test ends.
 */
function account({ sent, acked, caught, tableCounts }) {
  const ackedSet = new Set(acked);
  const caughtSet = new Set(caught);
  let lost = 0;
  for (const id of ackedSet) if (!tableCounts.has(id)) lost++;
  let unaccounted = 0;
  let committed = 0;
  for (const id of sent) {
    if (tableCounts.has(id)) committed++;
    else if (!ackedSet.has(id) && !caughtSet.has(id)) unaccounted++;
  }
  let rows = 0;
  let duplicates = 0;
  for (const n of tableCounts.values()) {
    rows += n;
    duplicates += n - 1;
  }
  return {
    sent: sent.length,
    acknowledged: ackedSet.size,
    toCatch: caughtSet.size,
    committed,
    rows,
    distinctRows: tableCounts.size,
    duplicates,
    lost,
    unaccounted,
  };
}

async function query(url, sql, params) {
  const c = new Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Map id → count of rows with that id in `table`. */
async function tableCounts(url, table, column = 'id') {
  const r = await query(url, `SELECT ${column} AS id, count(*)::int AS n FROM ${table} GROUP BY 1`);
  return new Map(r.rows.map((x) => [Number(x.id), x.n]));
}

/**
 * A PostgreSQL cluster owned by this test file, with the run's secret password. Returns the
 * throwaway handle (url, restart(mode), stop()) plus host/port/user/password/database for
 * node configs; `database` is "postgres".
 */
async function ownCluster() {
  // Durable (fsync and synchronous_commit on): these tests crash the server, and with them off
  // an immediate shutdown loses commits PostgreSQL had already acknowledged.
  // A free port can be taken by another process before PostgreSQL binds it: try again.
  let c = null;
  for (let attempt = 1; !c; attempt++) {
    try {
      c = await startThrowawayCluster({ password: secrets().dbPassword, durable: true });
    } catch (err) {
      if (attempt >= 3 || !/could not start server/.test(err.message)) throw err;
    }
  }
  process.on('exit', () => c.stop());
  const u = new URL(c.url);
  return {
    ...c,
    host: u.hostname,
    port: Number(u.port),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: 'postgres',
    logFile: path.join(c.cluster.dataDir, 'server.log'),
  };
}

/**
 * gpss-pg as its own process (dist/gpss-server/cli.js) on 127.0.0.1:port, its output appended
 * to logFile. The database URL (with its password) goes through the environment, not argv.
 * Resolves once it listens: { child, port, kill(signal), exited }.
 */
function startGpssProcess({ databaseUrl, port, logFile, allowHost, extraArgs = [] }) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, [GPSS_CLI, '--listen', `127.0.0.1:${port}`, ...(allowHost ? ['--allow-host', allowHost] : []), ...extraArgs], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', out],
    });
    fs.closeSync(out);
    let buf = '';
    const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const timer = setTimeout(() => reject(new Error(`gpss-pg did not listen within 20 s: ${buf}`)), 20000);
    let ready = false;
    child.stdout.on('data', (d) => {
      fs.appendFileSync(logFile, d);
      if (ready) return;
      buf += d.toString();
      const m = /gpss-pg listening on [^:]+:(\d+)/.exec(buf);
      if (m) {
        ready = true;
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), exited, kill: (sig = 'SIGKILL') => child.kill(sig) });
      }
    });
    exited.then(({ code, signal }) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`gpss-pg exited (${code ?? signal}) before listening: ${buf}`));
      }
    });
  });
}

/** Deterministic pseudo-random numbers (mulberry32) so that a failing run can be replayed by its seed. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedFromEnv() {
  const s = Number(process.env.CHAOS_SEED);
  return Number.isInteger(s) && s > 0 ? s : crypto.randomBytes(4).readUInt32LE(0) || 1;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(fn, timeoutMs, what = 'condition', stepMs = 50) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}

module.exports = {
  REPO, GPSS_CLI, outDir, secrets, artifactDir, safeJson, saveMessages, saveText, record, account, query, tableCounts,
  ownCluster, startGpssProcess, rng, seedFromEnv, sleep, until,
};
