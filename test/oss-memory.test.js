'use strict';
// Memory stays bounded: exporting and importing a table of ~150 MB of CSV through parallel
// gzip and multipart upload (and back) must not hold the data in memory. The bound asserted is
// generous (the process also runs the emulator); the benchmark measures it precisely.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { usePostgres } = require('./support/pg');
const { useOssEmulator } = require('./support/oss');
const { exportQueryToOss, importFromOss } = require('../dist/oss');

const pg = usePostgres();
const oss = useOssEmulator();
const ROWS = 1_600_000;
const MB = 1024 * 1024;

test(`export and import of ${ROWS.toLocaleString('en-US')} rows (~150 MB CSV) keep RSS bounded`, { timeout: 180000 }, async (t) => {
  const client = new Client({ connectionString: pg.url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`CREATE TABLE big (id int8, ts timestamp, device text, reading numeric(12,3), note text)`);
    await client.query(`INSERT INTO big SELECT g, timestamp '2026-01-01' + g * interval '1 second', 'device-' || (g % 1000), (g % 100000) / 7.0,
      'note ' || md5(g::text) || repeat('x', g % 40) FROM generate_series(1, ${ROWS}) g`);
    await client.query('CREATE TABLE big_in (LIKE big)');
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 25);
    try {
      const ex = await exportQueryToOss({
        pgClient: client, table: 'big', format: { format: 'csv' }, gzipLevel: 1, prefix: 'mem/', name: 'big', oss: oss.client(),
        rolloverBytes: 64 * MB, upload: { partSize: 8 * MB, parallel: 4 }, gzipWorkers: 2,
      });
      assert.equal(ex.rows, ROWS);
      assert.ok(ex.bytesIn > 140 * MB, `exported ${Math.round(ex.bytesIn / MB)} MB`);
      assert.ok(ex.objects.length >= 2);
      const im = await importFromOss({ pgClient: client, table: 'big_in', format: { format: 'csv' }, prefix: 'mem/', oss: oss.client(), parallel: 2 });
      assert.equal(im.rows, ROWS);
      assert.equal(im.bytesOut, ex.bytesIn);
      const growth = (peak - base) / MB;
      t.diagnostic(`RSS base ${(base / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB, growth ${growth.toFixed(0)} MB for ${Math.round(ex.bytesIn / MB)} MB of CSV`);
      // Parts in flight (4 × 8 MiB) + gzip blocks + stream buffers + the emulator's buffers:
      // well under the 150 MB of data; 250 MB leaves room for GC timing.
      assert.ok(growth < 250, `RSS grew by ${growth.toFixed(0)} MB (base ${(base / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB) for ${Math.round(ex.bytesIn / MB)} MB of data`);
    } finally {
      clearInterval(timer);
    }
    const { rows } = await client.query('SELECT (SELECT count(*) FROM big_in)::int AS n, (SELECT sum(hashtext(b::text)::int8) FROM big b) = (SELECT sum(hashtext(b::text)::int8) FROM big_in b) AS same');
    assert.deepEqual(rows[0], { n: ROWS, same: true });
  } finally {
    await client.end();
  }
});
