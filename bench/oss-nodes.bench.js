'use strict';
// `npm run bench oss-nodes`: the cost of the Node-RED adapters over the OSS library, same
// data, same run, against the OSS emulator (and a throwaway PostgreSQL for case 3):
//  1. oss-export, rows in messages (row objects, 1,000 per message) → gzip objects, vs the
//     library's ObjectRollingWriter fed the same rows as arrays (anchor);
//  2. oss-import to messages (batches of 1,000 rows) vs readRowsFromOss on the same objects;
//  3. oss-export of a table vs exportQueryToOss on the same table.
// Rows/s, ratio ours/anchor (1.0 = the node adds nothing) and peak RSS of the process per side
// (reset before each case; the emulator runs in this process and counts too).
// Env: OSS_NODES_BENCH_ROWS (default 500,000), OSS_NODES_BENCH_SKIP_DB=1.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const helper = require('node-red-node-test-helper');
const { report } = require('./support/report');
const { startTestOssEmulator } = require('../test/support/oss');
const { startPostgres } = require('../dist/devstack/postgres');
const { ObjectRollingWriter, readRowsFromOss, exportQueryToOss, GzipPool, encodeRows } = require('../dist/oss');
const { Client } = require('pg');
const { resetPeakRss, peakRssMiB } = require('./support/cpu');

helper.init(require.resolve('node-red'));
const NODES = ['oss-account', 'greenplum-db', 'oss-export', 'oss-import'].map((t) => require(`../dist/nodes/${t}.js`));

const ROWS = Number(process.env.OSS_NODES_BENCH_ROWS || 500000);
const PER_MSG = 1000;
const FORMAT = { format: 'csv' };
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);

function rowObjects(m) {
  const out = [];
  for (let i = m * PER_MSG; i < (m + 1) * PER_MSG; i++) out.push({ id: i, ts: `2026-01-01 00:00:${String(i % 60).padStart(2, '0')}`, v: (i * 0.37).toFixed(3), name: `sensor-${i % 97}`, note: i % 10 ? `n${i}` : null });
  return out;
}
const COLS = ['id', 'ts', 'v', 'name', 'note'];

function account(oss) {
  return { id: 'acct1', type: 'oss-account', endpoint: oss.endpoint, bucket: oss.bucket, secure: false, signature: 'v4', maxSockets: 16, timeout: 60000 };
}
const creds = (oss, pw) => ({ acct1: { accessKeyId: oss.accessKeyId, accessKeySecret: oss.accessKeySecret }, ...(pw !== undefined ? { db1: { password: pw } } : {}) });

/**
 * node-red-node-test-helper wraps Node.prototype.send/status/… in sinon spies that keep every
 * call's arguments and a stack trace (all row batches!); a real runtime has none. Restore the
 * prototype, and re-wire each node: Node-RED copies `send` onto the instance when wiring.
 */
function unspy(ids) {
  helper._sandbox.restore();
  for (const id of ids) {
    const n = helper.getNode(id);
    if (n) n.updateWires(n.wires);
  }
}

async function withServer(fn) {
  await new Promise((r) => helper.startServer(r));
  try {
    return await fn();
  } finally {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
  }
}

/** Case 1, ours: the node in Node-RED; returns rows/s. */
async function nodeExportMessages(oss, prefix) {
  return withServer(async () => {
    await helper.load(NODES, [
      { id: 't1', type: 'tab' },
      account(oss),
      { id: 'exp1', type: 'oss-export', z: 't1', x: 1, y: 1, account: 'acct1', source: 'messages', columns: COLS.join(','), prefix, objectName: 'b', compression: 1, gzipWorkers: 2, objectSizeMB: 64, partSizeMB: 8, parallelParts: 4, rollSeconds: 0, maxBufferMB: 512, wires: [['out1']] },
      { id: 'out1', type: 'helper', z: 't1', x: 1, y: 1, wires: [] },
    ], creds(oss));
    unspy(['exp1', 'out1']);
    const exp = helper.getNode('exp1');
    const done = new Promise((resolve) => helper.getNode('out1').on('input', (m) => m.topic === 'flush' && resolve(m)));
    const t0 = process.hrtime.bigint();
    // Feed in slices so Node-RED can deliver (as an upstream flow would).
    for (let m = 0; m < ROWS / PER_MSG; m++) {
      exp.receive({ payload: rowObjects(m) });
      if (m % 20 === 19) await new Promise((r) => setImmediate(r));
    }
    exp.receive({ topic: 'flush' });
    const r = await done;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.payload.rows !== ROWS) throw new Error(`node exported ${r.payload.rows} rows`);
    return ROWS / s;
  });
}

/** Case 1, anchor: the library's rolling writer fed the same rows (already arrays). */
async function libraryExportMessages(oss, prefix) {
  const pool = new GzipPool({ size: 2 });
  const w = new ObjectRollingWriter({ oss: oss.client(), prefix, name: 'b', format: FORMAT, gzipLevel: 1, rolloverBytes: 64 * 1048576, gzipPool: pool, upload: { partSize: 8 * 1048576, parallel: 4 } });
  const t0 = process.hrtime.bigint();
  for (let m = 0; m < ROWS / PER_MSG; m++) {
    const rows = rowObjects(m).map((o) => COLS.map((c) => o[c]));
    await w.writeEncoded(Buffer.from(encodeRows(rows, w.format)), rows.length);
  }
  const st = await w.close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await pool.close();
  if (st.rows !== ROWS) throw new Error(`library exported ${st.rows} rows`);
  return ROWS / s;
}

async function nodeImportMessages(oss, prefix) {
  return withServer(async () => {
    await helper.load(NODES, [
      { id: 't1', type: 'tab' },
      account(oss),
      { id: 'imp1', type: 'oss-import', z: 't1', x: 1, y: 1, account: 'acct1', target: 'messages', prefix, format: 'csv', batchSize: PER_MSG, parallel: 2, wires: [['stats1'], ['rows1']] },
      { id: 'stats1', type: 'helper', z: 't1', x: 1, y: 1, wires: [] },
      { id: 'rows1', type: 'helper', z: 't1', x: 1, y: 1, wires: [] },
    ], creds(oss));
    unspy(['imp1', 'stats1', 'rows1']);
    let rows = 0;
    helper.getNode('rows1').on('input', (m) => (rows += m.payload.length));
    const done = new Promise((resolve) => helper.getNode('stats1').on('input', resolve));
    const t0 = process.hrtime.bigint();
    helper.getNode('imp1').receive({ payload: 'go' });
    await done;
    await new Promise((r) => setImmediate(r));
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (rows !== ROWS) throw new Error(`node imported ${rows} rows`);
    return ROWS / s;
  });
}

async function libraryImportMessages(oss, prefix) {
  let rows = 0;
  const t0 = process.hrtime.bigint();
  for await (const b of readRowsFromOss({ oss: oss.client(), format: FORMAT, prefix, batchSize: PER_MSG, parallel: 2 })) rows += b.rows.length;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (rows !== ROWS) throw new Error(`library read ${rows} rows`);
  return ROWS / s;
}

async function nodeExportTable(oss, pgc, prefix) {
  const u = new URL(pgc.url);
  return withServer(async () => {
    await helper.load(NODES, [
      { id: 't1', type: 'tab' },
      account(oss),
      { id: 'db1', type: 'greenplum-db', host: u.hostname, port: Number(u.port), database: u.pathname.slice(1), user: decodeURIComponent(u.username), tls: false, poolSize: 2 },
      { id: 'exp1', type: 'oss-export', z: 't1', x: 1, y: 1, account: 'acct1', database: 'db1', source: 'table', table: 'bench', prefix, compression: 1, gzipWorkers: 2, objectSizeMB: 64, partSizeMB: 8, parallelParts: 4, mode: 'auto', wires: [['out1']] },
      { id: 'out1', type: 'helper', z: 't1', x: 1, y: 1, wires: [] },
    ], creds(oss, decodeURIComponent(u.password)));
    unspy(['exp1', 'out1']);
    const done = new Promise((resolve) => helper.getNode('out1').on('input', resolve));
    const t0 = process.hrtime.bigint();
    helper.getNode('exp1').receive({ payload: 'go' });
    const r = await done;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.payload.rows !== ROWS) throw new Error(`node exported ${r.payload.rows} rows`);
    return ROWS / s;
  });
}

async function libraryExportTable(oss, pgc, prefix) {
  const c = new Client({ connectionString: pgc.url });
  await c.connect();
  const pool = new GzipPool({ size: 2 });
  try {
    const t0 = process.hrtime.bigint();
    const st = await exportQueryToOss({ pgClient: c, table: 'bench', oss: oss.client(), prefix, name: 'bench', format: FORMAT, gzipLevel: 1, rolloverBytes: 64 * 1048576, gzipPool: pool, upload: { partSize: 8 * 1048576, parallel: 4 } });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (st.rows !== ROWS) throw new Error(`library exported ${st.rows} rows`);
    return ROWS / s;
  } finally {
    await pool.close();
    await c.end();
  }
}

/**
 * Runs one case and notes its peak RSS in MiB under `side` of `peaks` (highest of the runs): the
 * kernel's high-water mark, reset before the case, where writable; else the 50 ms sample. The
 * emulator runs in this process, so its buffers count too. Run with --expose-gc (bench/run.js does).
 */
async function peakOf(peaks, side, fn) {
  // The previous case's garbage is not this case's memory: collect it before the high-water mark
  // is reset (V8 returns freed heap pages after a full GC; otherwise each case started from the
  // RSS the one before had left, and the import cases measured the export cases' heap).
  if (global.gc) global.gc();
  const hwm = resetPeakRss(process.pid);
  peakRss = process.memoryUsage.rss();
  starts[side] = Math.max(starts[side] ?? 0, Math.round(peakRss / 1048576));
  const r = await fn();
  const peak = hwm ? peakRssMiB(process.pid) : Math.round(peakRss / 1048576);
  peaks[side] = Math.max(peaks[side] ?? 0, peak);
  return r;
}
/** RSS at the start of each side's cases (after the GC), highest of the runs: what the process held already. */
let starts = {};
const peakText = (p) => `${p.ours}/${p.anchor} (at start ${starts.ours}/${starts.anchor})`;

(async () => {
  const oss = await startTestOssEmulator({ buckets: ['bench-bucket'] });
  const rows = [];
  if (global.gc) global.gc();
  const baseRss = Math.round(process.memoryUsage.rss() / 1048576);
  let peaks = {};
  try {
    // Alternate anchor and ours, best of 3 each, so machine noise hits both alike.
    let ours = 0;
    let anchor = 0;
    for (let run = 0; run < 3; run++) {
      anchor = Math.max(anchor, await peakOf(peaks, 'anchor', () => libraryExportMessages(oss, `lib${run}/`)));
      ours = Math.max(ours, await peakOf(peaks, 'ours', () => nodeExportMessages(oss, `node${run}/`)));
    }
    rows.push({ case: `export, rows in messages (${ROWS.toLocaleString('en-US')} rows, gzip -1)`, unit: 'rows/s', ours, anchor, anchorName: 'ObjectRollingWriter', extra: { 'peak RSS MiB ours/anchor': peakText(peaks), 'base RSS MiB': baseRss } });
    peaks = {};
    starts = {};
    ours = 0;
    anchor = 0;
    for (let run = 0; run < 3; run++) {
      anchor = Math.max(anchor, await peakOf(peaks, 'anchor', () => libraryImportMessages(oss, 'node0/')));
      ours = Math.max(ours, await peakOf(peaks, 'ours', () => nodeImportMessages(oss, 'node0/')));
    }
    rows.push({ case: `import to messages (batches of ${PER_MSG})`, unit: 'rows/s', ours, anchor, anchorName: 'readRowsFromOss', extra: { 'peak RSS MiB ours/anchor': peakText(peaks), 'base RSS MiB': baseRss } });
    peaks = {};
    starts = {};
    if (!process.env.OSS_NODES_BENCH_SKIP_DB) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oss-nodes-bench-pg-'));
      const pgc = await startPostgres({ dataDir: path.join(dir, 'data'), fast: true });
      try {
        const c = new Client({ connectionString: pgc.url });
        await c.connect();
        await c.query(`CREATE TABLE bench AS SELECT g AS id, timestamp '2026-01-01' + g * interval '1 second' AS ts, (g * 0.37)::numeric(12,3) AS v, 'sensor-' || (g % 97) AS name, CASE WHEN g % 10 = 0 THEN NULL ELSE 'n' || g END AS note FROM generate_series(0, ${ROWS - 1}) g`);
        await c.end();
        ours = 0;
        anchor = 0;
        for (let run = 0; run < 3; run++) {
          anchor = Math.max(anchor, await peakOf(peaks, 'anchor', () => libraryExportTable(oss, pgc, `tlib${run}/`)));
          ours = Math.max(ours, await peakOf(peaks, 'ours', () => nodeExportTable(oss, pgc, `tnode${run}/`)));
        }
        rows.push({ case: 'export a table (client mode, gzip -1)', unit: 'rows/s', ours, anchor, anchorName: 'exportQueryToOss', extra: { 'peak RSS MiB ours/anchor': peakText(peaks), 'base RSS MiB': baseRss } });
      } finally {
        pgc.stop({ removeData: true });
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    clearInterval(sampler);
    await oss.stop();
  }
  report('oss-nodes', rows);
  process.exit(0);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
