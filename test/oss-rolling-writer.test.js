'use strict';
// ObjectRollingWriter (exportQueryToOss's per-stripe writer): rows arriving in batches roll into objects by size,
// flush on demand, and every row lands exactly once.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const { useOssEmulator } = require('./support/oss');
const { ObjectRollingWriter, readRowsFromOss, parseRows, GzipPool, encodeRows } = require('../dist/oss');

/** Rows (arrays in column order) into the writer, encoded in its format. */
const writeRows = (w, rows) => w.writeEncoded(Buffer.from(encodeRows(rows, w.format)), rows.length);

const oss = useOssEmulator();

test('100,000 rows in batches roll into objects by size; flush() closes the current object', async () => {
  const pool = new GzipPool({ size: 2 });
  const progress = [];
  const w = new ObjectRollingWriter({
    oss: oss.client(), prefix: 'roll/', name: 'events', format: { format: 'csv', header: true }, columns: ['id', 'label', 'payload'],
    gzipLevel: 1, rolloverBytes: 512 * 1024, gzipPool: pool, upload: { partSize: 128 * 1024, parallel: 2 },
    at: new Date('2026-11-22T01:02:03Z'), onProgress: (p) => progress.push(p), progressIntervalMs: 0,
  });
  try {
    let id = 0;
    for (let batch = 0; batch < 100; batch++) {
      const rows = [];
      for (let i = 0; i < 1000; i++, id++) rows.push([id, id % 7 === 0 ? null : `label ${id}`, id % 5 === 0 ? 'with "quotes", commas\nand newlines' : Buffer.from([id & 255, 0x5c])]);
      await writeRows(w, rows);
      if (batch === 49) await w.flush(); // a control message in the middle
    }
    const stats = await w.close();
    assert.equal(stats.rows, 100000);
    assert.ok(stats.objects.length >= 6, `${stats.objects.length} objects`);
    assert.equal(stats.objects.reduce((a, o) => a + o.rows, 0), 100000);
    assert.equal(stats.objects[0].key, 'roll/events_20261122T010203_00000.csv.gz');
    assert.ok(progress.length > 0 && progress.at(-1).rows === 100000);
    // The flush after 50,000 rows ends an object exactly there.
    let cum = 0;
    const boundaries = stats.objects.map((o) => (cum += o.rows));
    assert.ok(boundaries.includes(50000), `object boundaries ${boundaries}`);
    // Every object: a single gzip member, starting with the header, whole rows.
    for (const o of stats.objects) {
      const body = (await oss.client().get(o.key)).content;
      const text = zlib.gunzipSync(body);
      assert.ok(text.toString().startsWith('id,label,payload\n'));
      assert.equal(parseRows(text, { format: 'csv', header: true }).length, o.rows);
      assert.ok(o.bytes === body.length && o.bytes < 512 * 1024, 'rolled over at the size limit (compressed bytes are smaller)');
    }
    // Read back as rows: every id exactly once.
    const seen = new Set();
    for await (const { rows } of readRowsFromOss({ oss: oss.client(), format: { format: 'csv', header: true }, prefix: 'roll/', batchSize: 777 })) {
      for (const r of rows) {
        assert.ok(!seen.has(r[0]));
        seen.add(r[0]);
        const n = Number(r[0]);
        assert.equal(r[1], n % 7 === 0 ? null : `label ${n}`);
        assert.equal(r[2], n % 5 === 0 ? 'with "quotes", commas\nand newlines' : '\\x' + Buffer.from([n & 255, 0x5c]).toString('hex'));
      }
    }
    assert.equal(seen.size, 100000);
  } finally {
    await pool.close();
  }
});

test('flush with no rows writes nothing; abort leaves no multipart upload', async () => {
  const w = new ObjectRollingWriter({ oss: oss.client(), prefix: 'roll2/', name: 'x', format: { format: 'text' }, gzipLevel: 0, upload: { partSize: 100 * 1024 } });
  await w.flush();
  assert.equal(w.objectCount, 0);
  const big = [];
  for (let i = 0; i < 20000; i++) big.push([i, 'y'.repeat(40)]);
  await writeRows(w, big); // > one part: a multipart upload is open
  await w.abort(new Error('stop'));
  assert.deepEqual(await oss.emu.listMultipartUploads(oss.bucket), []);
  await assert.rejects(writeRows(w, [[1, 'z']]), /closed/);
  assert.throws(() => new ObjectRollingWriter({ oss: oss.client(), prefix: 'p/', name: 'bad name', format: { format: 'csv' } }), /object name stem/);
  assert.throws(() => new ObjectRollingWriter({ oss: oss.client(), prefix: 'p/', name: 'n', format: { format: 'csv' }, gzipLevel: 10 }), /gzipLevel/);
});
