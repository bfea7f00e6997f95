'use strict';
// greenplum-query's batch output: a result read through a server-side cursor in batches
// (src/query readInBatches: DECLARE … CURSOR, FETCH n, one batch read ahead) against the anchor,
// the same SELECT read whole by node-postgres (what "all rows in one message" does, and what a
// query node without a cursor does). Same rows, same database, same process.
// Reported per case: rows/s, main-thread CPU µs per row, and the peak JS heap above the
// baseline while reading (sampled every 5 ms): the cursor's is bounded by the batch size, the
// anchor's grows with the result.
// Usage: node bench/query.bench.js [rows] [batch]   (npm run bench query)
const path = require('node:path');
const assert = require('node:assert/strict');
const { Pool } = require('pg');
const { report } = require('./support/report');
const { startThrowawayCluster } = require('../test/support/pg');
const Q = require(path.join(__dirname, '..', 'dist', 'query'));

const N = Number(process.argv[2]) || 500_000;
const BATCH = Number(process.argv[3]) || 10_000;
const RUNS = 3;
const SQL = 'SELECT id, ts, device, value, payload FROM bench_rows ORDER BY id';

async function measure(fn) {
  global.gc();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const rows = await fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  assert.equal(rows, N, 'every row read');
  return { rate: N / s, cpuUsPerRow: (cpu.user + cpu.system) / N, peakMB: (peak - base) / 2 ** 20 };
}

(async () => {
  const cluster = await startThrowawayCluster();
  const pool = new Pool({ connectionString: cluster.url, max: 2 });
  try {
    await pool.query(`CREATE TABLE bench_rows (id bigint PRIMARY KEY, ts timestamptz, device text, value float8, payload text);
      INSERT INTO bench_rows SELECT g, timestamptz '2026-01-01' + g * interval '37 ms', 'device-' || lpad((g % 1000)::text, 4, '0'),
        sin(g) * 1000, rpad('{"status":"ok","seq":' || g || '}', 40) FROM generate_series(1, ${N}) g; ANALYZE bench_rows`);
    const ours = () =>
      Q.withSession(pool, {}, async (c) => {
        let n = 0;
        await Q.readInBatches(c, Q.bindParameters(SQL), BATCH, { turn: async () => {}, send: (b) => (n += b.rows.length) });
        return n;
      });
    const anchor = async () => (await pool.query(SQL)).rows.length;
    const best = { ours: null, anchor: null };
    for (let i = 0; i < RUNS; i++) {
      for (const [k, fn] of [['ours', ours], ['anchor', anchor]]) {
        const m = await measure(fn);
        const b = best[k];
        best[k] = b ? { rate: Math.max(b.rate, m.rate), cpuUsPerRow: Math.min(b.cpuUsPerRow, m.cpuUsPerRow), peakMB: Math.min(b.peakMB, m.peakMB) } : m;
      }
    }
    const anchorName = 'pg query, whole result';
    report('query', [
      { case: `read ${N.toLocaleString('en-US')} rows, batches of ${BATCH.toLocaleString('en-US')}`, unit: 'rows/s', ours: best.ours.rate, anchor: best.anchor.rate, anchorName },
      { case: 'main-thread CPU per row', unit: 'µs/row', ours: best.ours.cpuUsPerRow, anchor: best.anchor.cpuUsPerRow, anchorName, higherIsBetter: false },
      { case: 'peak JS heap while reading', unit: 'MiB', ours: best.ours.peakMB, anchor: best.anchor.peakMB, anchorName, higherIsBetter: false },
    ]);
  } finally {
    await pool.end();
    cluster.stop();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
