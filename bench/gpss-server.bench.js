'use strict';
// `npm run bench gpss-server`: 1,000,000 rows (id bigint, ts timestamp, device text,
// value double precision, payload text ~40 chars) sent by our GpssClient in batched Writes
// through gpss-pg into PostgreSQL, against the anchor: the same rows COPYed directly with
// pg-copy-streams (rows formatted in Node, ≥ 64 KiB chunks, backpressure respected), same
// table definition, same run. Target: ours ≥ 0.8 × the direct COPY rows/s. The rows are
// encoded once before the timed runs (pre-encoded Writes: the client's encoding is not what
// is measured). CPU seconds per million rows are reported for every process (this one,
// gpss-pg's, the PostgreSQL backend's): on two shared cores they hold better than rows/s, and
// gpss-pg should spend at most half of what PostgreSQL spends per row.
//
// gpss-pg writes COPY BINARY when every value maps exactly onto its column (as here), which
// costs PostgreSQL less than the anchor's text COPY; the last two rows compare the server's
// own Row → COPY rendering with decodeRow() + formatting (why the hand-written path exists).
//
// Two placements of gpss-pg are measured: in the benchmark's own process (the embedded
// default of the gpss-server config node) and as a separate `gpss-pg` process (the CLI).
// Env: TEST_DATABASE_URL (else a throwaway cluster), BENCH_ROWS (default 1,000,000),
// BENCH_SERVER_FLAGS (node flags for the gpss-pg process, e.g. --cpu-prof or --perf-basic-prof).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Client } = require('pg');
const { from: copyFrom } = require('pg-copy-streams');
const { startPostgres } = require('../dist/devstack/postgres');
const { startGpssServer } = require('../dist/gpss-server');
const { GpssClient } = require('../dist/gpss/client');
const { createRowEncoder } = require('../dist/gpss/value-mapping');
// The CLI's own heap option given here: the spawned process is then the server itself (the CLI
// would otherwise run it as a child), so its pid is the one measured.
const { HEAP_OPTION } = require('../dist/gpss-server/cli');
const { report, bestOf } = require('./support/report');
const { procCpu } = require('./support/cpu');
const { decodeRow } = require('../test/support/row-oracle');
const ct = { ...require('../dist/gpss-server/copy-values'), ...require('../dist/gpss-server/row-renderer') };
const { buildLayout } = require('../dist/gpss-server/load');

const ROWS = Number(process.env.BENCH_ROWS || 1000000);
const BATCH = 10000; // rows per client write() call (the client splits at its byte cap)
const TABLE_DDL = (name) => `CREATE UNLOGGED TABLE IF NOT EXISTS ${name} (id bigint, ts timestamp, device text, value double precision, payload text)`;
const T0 = Date.UTC(2026, 0, 1);

/** The benchmark row i as JS values (what a flow would hand to gpss-write). */
function values(i) {
  return [i, T0 + i * 10, 'device-' + (i % 1000), i * 0.5, 'payload-' + i.toString(36).padStart(8, '0') + '-lorem-ipsum-dolor-sit'];
}

function pad(n, w) {
  return String(n).padStart(w, '0');
}

/** The same row as COPY text, formatted in Node for the anchor. */
function copyLine(i) {
  const v = values(i);
  const d = new Date(v[1]);
  const ts = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`;
  return `${v[0]}\t${ts}\t${v[2]}\t${v[3]}\t${v[4]}\n`;
}

// ---- CPU accounting: rows/s depend on what else the machine runs; CPU seconds much less ----
/** CPU seconds of this process and of the given other processes, from now until stop(). */
function cpuMeter(pids) {
  const self = process.cpuUsage();
  const start = pids.map(procCpu);
  return () => {
    const d = process.cpuUsage(self);
    const parts = [(d.user + d.system) / 1e6, ...pids.map((pid, i) => procCpu(pid) - start[i])];
    return { total: parts.reduce((a, b) => a + b, 0), parts };
  };
}

async function directCopy(url, table) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`TRUNCATE ${table}`);
    const backend = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    if (global.gc) global.gc();
    const cpu = cpuMeter([backend]);
    const t = process.hrtime.bigint();
    const stream = c.query(copyFrom(`COPY ${table} FROM STDIN`));
    const done = new Promise((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
    });
    let chunk = '';
    for (let i = 0; i < ROWS; i++) {
      chunk += copyLine(i);
      if (chunk.length >= 65536) {
        if (!stream.write(chunk)) await new Promise((r) => stream.once('drain', r));
        chunk = '';
      }
    }
    if (chunk) stream.write(chunk);
    stream.end();
    await done;
    const secs = Number(process.hrtime.bigint() - t) / 1e9;
    const { total: cpuSeconds, parts } = cpu();
    const { rows } = await c.query(`SELECT count(*)::int AS n FROM ${table}`);
    if (rows[0].n !== ROWS) throw new Error(`anchor loaded ${rows[0].n} rows`);
    return { rate: ROWS / secs, cpuSeconds, parts: { node: parts[0], postgres: parts[1] } };
  } finally {
    await c.end();
  }
}

let encodedBatches = null;
/**
 * The benchmark rows as encoded Row bytes in batches of BATCH, made once before any timed run:
 * the figures are about gpss-pg, not about the client encoding rows on the same two cores.
 */
function preEncoded(columns) {
  if (!encodedBatches) {
    const encoder = createRowEncoder(columns);
    encodedBatches = [];
    for (let from = 0; from < ROWS; from += BATCH) {
      const n = Math.min(BATCH, ROWS - from);
      const rows = new Array(n);
      for (let i = 0; i < n; i++) rows[i] = encoder.encodeArray(values(from + i));
      encodedBatches.push(rows);
    }
  }
  return encodedBatches;
}

async function throughGpss(endpoint, login, url, table, serverPid) {
  const admin = new Client({ connectionString: url });
  await admin.connect();
  await admin.query(`TRUNCATE ${table}`);
  const client = new GpssClient(endpoint, { deadlineMs: 120000 });
  try {
    const session = await client.connect(login);
    const columns = await client.describeTable(session, 'public', table);
    const batches = preEncoded(columns);
    const { rows: be } = await admin.query(`SELECT pid FROM pg_stat_activity WHERE application_name = 'gpss-pg' AND datname = current_database() ORDER BY backend_start DESC LIMIT 1`);
    if (global.gc) global.gc();
    const cpu = cpuMeter([be[0].pid, ...(serverPid ? [serverPid] : [])]);
    const t = process.hrtime.bigint();
    await client.open(session, { table, mode: 'insert' });
    // One Write in flight at a time: calls stay strictly ordered.
    let inFlight = Promise.resolve();
    for (const rows of batches) {
      await inFlight;
      inFlight = client.write(session, rows);
    }
    await inFlight;
    const stats = await client.close(session);
    const secs = Number(process.hrtime.bigint() - t) / 1e9;
    const { total: cpuSeconds, parts } = cpu();
    if (stats.successCount !== ROWS) throw new Error(`gpss-pg loaded ${stats.successCount} rows`);
    await client.disconnect(session);
    const split = serverPid ? { client: parts[0], 'gpss-pg': parts[2], postgres: parts[1] } : { 'client + gpss-pg': parts[0], postgres: parts[1] };
    return { rate: ROWS / secs, cpuSeconds, parts: split };
  } finally {
    client.shutdown();
    await admin.end();
  }
}

/**
 * Justifies the server's hand-written Row → COPY path: rows/s rendering encoded rows to COPY
 * text with RowRenderer, against decodeRow() (the shared decoder) + straightforward formatting.
 */
function renderComparison() {
  const n = 300000;
  const columns = [['id', 'INT8', 20], ['ts', 'TIMESTAMP', 1114], ['device', 'TEXT', 25], ['value', 'FLOAT8', 701], ['payload', 'TEXT', 25]].map(([name, databaseType, oid]) => ({
    name, databaseType, hasLength: false, length: 0, hasPrecisionScale: false, precision: 0, scale: 0, hasNullable: true, nullable: true, baseOid: oid, kind: oid === 1114 ? 5 : 0,
  }));
  const encoder = createRowEncoder(columns);
  const rows = Array.from({ length: n }, (_, i) => encoder.encodeArray(values(i)));
  const layout = buildLayout(columns, columns.map((c) => c.name), []);
  const escape = (x) => x.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  const viaDecode = () => {
    const t = process.hrtime.bigint();
    let chunk = '';
    let bytes = 0;
    for (const r of rows) {
      chunk +=
        decodeRow(r)
          .map((v, i) => {
            if ('Int64Value' in v) return v.Int64Value;
            if ('Float64Value' in v) return ct.renderFloat64(v.Float64Value);
            if ('StringValue' in v) return escape(v.StringValue);
            if ('TimeStampValue' in v) return ct.renderTimestamp(Number(v.TimeStampValue.seconds), v.TimeStampValue.nanos, columns[i].kind);
            return '\\N';
          })
          .join('\t') + '\n';
      if (chunk.length >= 65536) {
        bytes += Buffer.from(chunk).length; // COPY wants bytes, as RowRenderer produces
        chunk = '';
      }
    }
    if (bytes < 0) throw new Error('unreachable');
    return n / (Number(process.hrtime.bigint() - t) / 1e9);
  };
  const fast = (binary) => () => {
    const renderer = new ct.RowRenderer(layout);
    const out = new ct.CopyTextBuffer(1 << 20);
    const t = process.hrtime.bigint();
    for (const r of rows) {
      if (out.pos >= 65536) out.reset();
      if (binary) renderer.renderBinary(r, 0, r.length, out);
      else renderer.render(r, 0, r.length, out);
    }
    return n / (Number(process.hrtime.bigint() - t) / 1e9);
  };
  return { viaDecode, text: fast(false), binary: fast(true) };
}

async function startCliServer(url) {
  // BENCH_SERVER_FLAGS: extra node flags for the gpss-pg process (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
  const extra = (process.env.BENCH_SERVER_FLAGS || '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...extra, HEAP_OPTION, path.join(__dirname, '../dist/gpss-server/cli.js'), '--listen', '127.0.0.1:0', '--database', url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  for (let i = 0; !/listening on (\S+);/.test(out); i++) {
    if (i > 400 || child.exitCode !== null) throw new Error(`gpss-pg did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const [, address] = /listening on (\S+);/.exec(out);
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return {
    port,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

async function main() {
  let cluster = null;
  let tmp = null;
  let serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpss-bench-'));
    cluster = await startPostgres({ dataDir: path.join(tmp, 'data'), fast: true });
    serverUrl = cluster.url;
  }
  const dbName = 'bench_gpss_' + process.pid;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const u = new URL(serverUrl);
  u.pathname = '/' + dbName;
  const url = u.toString();
  const login = { host: u.hostname, port: Number(u.port || 5432), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: dbName };
  let embedded = null;
  let cli = null;
  try {
    const db = new Client({ connectionString: url });
    await db.connect();
    // Same table definition for both paths (unlogged: the figure is about the loading path, not WAL).
    await db.query(TABLE_DDL('bench_direct'));
    await db.query(TABLE_DDL('bench_gpss'));
    await db.end();
    embedded = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: url });
    cli = await startCliServer(url);
    // Warm-up (JIT, connections), then best-of runs of each.
    await directCopy(url, 'bench_direct');
    await throughGpss({ host: '127.0.0.1', port: embedded.port }, login, url, 'bench_gpss');
    // Rounds interleave the three paths so that a busy moment of the machine does not land on
    // one of them only; each figure is the best of its rounds (the least disturbed).
    const best = { anchor: { rate: 0, cpuSeconds: Infinity }, inProcess: { rate: 0, cpuSeconds: Infinity }, separate: { rate: 0, cpuSeconds: Infinity } };
    const keep = (name, r) => {
      best[name].rate = Math.max(best[name].rate, r.rate);
      if (r.cpuSeconds < best[name].cpuSeconds) Object.assign(best[name], { cpuSeconds: r.cpuSeconds, parts: r.parts });
    };
    for (let round = 0; round < 3; round++) {
      keep('anchor', await directCopy(url, 'bench_direct'));
      keep('inProcess', await throughGpss({ host: '127.0.0.1', port: embedded.port }, login, url, 'bench_gpss'));
      keep('separate', await throughGpss({ host: '127.0.0.1', port: cli.port }, login, url, 'bench_gpss', cli.pid));
    }
    const anchor = best.anchor.rate;
    const inProcess = best.inProcess.rate;
    const separate = best.separate.rate;
    const perMillion = (cpuSeconds) => (cpuSeconds * 1e6) / ROWS;
    const split = (parts) => Object.entries(parts).map(([k, v]) => `${k} ${perMillion(v).toFixed(2)}`).join(', ');
    const rc = renderComparison();
    const decodeRate = await bestOf(3, rc.viaDecode);
    const textRate = await bestOf(3, rc.text);
    const binaryRate = await bestOf(3, rc.binary);
    report('gpss-server', [
      { case: `${ROWS.toLocaleString('en-US')} rows, gpss-pg in process`, unit: 'rows/s', ours: inProcess, anchor, anchorName: 'direct COPY (pg-copy-streams)' },
      { case: `${ROWS.toLocaleString('en-US')} rows, gpss-pg as its own process`, unit: 'rows/s', ours: separate, anchor, anchorName: 'direct COPY (pg-copy-streams)' },
      { case: 'CPU per 1M rows, all processes, in process', unit: 'CPU s', ours: perMillion(best.inProcess.cpuSeconds), anchor: perMillion(best.anchor.cpuSeconds), anchorName: 'direct COPY (Node + PostgreSQL)', higherIsBetter: false, extra: { split: `${split(best.inProcess.parts)} | anchor: ${split(best.anchor.parts)}` } },
      { case: 'CPU per 1M rows, all processes, own process', unit: 'CPU s', ours: perMillion(best.separate.cpuSeconds), anchor: perMillion(best.anchor.cpuSeconds), anchorName: 'direct COPY (Node + PostgreSQL)', higherIsBetter: false, extra: { split: split(best.separate.parts) } },
      // What the budget is about (gpss-pg at most half of PostgreSQL's CPU per row):
      // measured on the own-process placement, where gpss-pg's CPU is its process's alone.
      {
        case: 'CPU per 1M rows: gpss-pg (own process) vs the PostgreSQL backend it feeds (ratio = PostgreSQL / gpss-pg, target >= 2)',
        unit: 'CPU s',
        ours: perMillion(best.separate.parts['gpss-pg']),
        anchor: perMillion(best.separate.parts.postgres),
        anchorName: 'PostgreSQL backend of the load (COPY BINARY)',
        higherIsBetter: false,
        extra: { 'gpss-pg / PostgreSQL': (best.separate.parts['gpss-pg'] / best.separate.parts.postgres).toFixed(3), 'anchor COPY text backend': perMillion(best.anchor.parts.postgres).toFixed(2) },
      },
      { case: 'server: Row bytes → COPY text (RowRenderer)', unit: 'rows/s', ours: textRate, anchor: decodeRate, anchorName: 'decodeRow + formatting' },
      { case: 'server: Row bytes → COPY BINARY (RowRenderer)', unit: 'rows/s', ours: binaryRate, anchor: decodeRate, anchorName: 'decodeRow + formatting' },
    ]);
  } finally {
    if (cli) await cli.stop();
    if (embedded) await embedded.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
    if (cluster) cluster.stop({ removeData: true });
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
