'use strict';
// Object naming on export, and oss_ext detection on a real PostgreSQL (auto → client mode).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { usePostgres } = require('./support/pg');
const { objectKey, compactTimestamp, objectMime, ObjectNameError } = require('../dist/oss/naming');
const { hasOssExt, ossExtStatus, chooseTransferMode, primarySegmentCount } = require('../dist/oss/detect');

const pg = usePostgres();

test('object keys follow <prefix><name>_<yyyymmddThhmmss>_<seq>.<csv|txt>[.gz] in UTC', () => {
  const at = new Date('2026-11-22T03:04:05.678Z');
  assert.equal(compactTimestamp(at), '20261122T030405');
  assert.equal(objectKey({ prefix: 'exports/sales/', name: 'sales', at, seq: 0, format: 'csv', gzip: true }), 'exports/sales/sales_20261122T030405_00000.csv.gz');
  assert.equal(objectKey({ prefix: '', name: 'orders.v2', at, seq: 12, format: 'text', gzip: false }), 'orders.v2_20261122T030405_00012.txt');
  // Lexical order of keys equals write order, so a prefix listing imports objects in sequence.
  const keys = [0, 1, 9, 10, 99, 100, 12345].map((seq) => objectKey({ prefix: 'p/', name: 'n', at, seq, format: 'csv', gzip: false }));
  assert.deepEqual([...keys].sort(), keys);
});

test('object naming rejects bad stems, sequence numbers, absolute prefixes and invalid dates', () => {
  const at = new Date();
  const bad = (over, field) => assert.throws(() => objectKey({ prefix: 'p/', name: 'n', at, seq: 0, format: 'csv', gzip: false, ...over }), (e) => e instanceof ObjectNameError && e.field === field);
  bad({ name: 'a b' }, 'name');
  bad({ name: 'a/b' }, 'name');
  bad({ name: '' }, 'name');
  bad({ seq: -1 }, 'seq');
  bad({ seq: 1.5 }, 'seq');
  bad({ prefix: '/abs/' }, 'prefix');
  bad({ prefix: 'x'.repeat(1100) }, 'prefix');
  bad({ at: new Date('nope') }, 'at');
});

test('mime types are explicit', () => {
  assert.equal(objectMime('csv', true), 'application/gzip');
  assert.equal(objectMime('csv', false), 'text/csv; charset=utf-8');
  assert.equal(objectMime('text', false), 'text/plain; charset=utf-8');
});

test('on PostgreSQL oss_ext is neither installed nor available, and auto picks client mode', async () => {
  const client = new Client({ connectionString: pg.url });
  await client.connect();
  try {
    assert.equal(await hasOssExt(client), false);
    assert.deepEqual(await ossExtStatus(client), { installed: false, available: false });
    assert.equal(await chooseTransferMode(client, 'auto'), 'client');
    assert.equal(await chooseTransferMode(client, 'auto', { allowCreateExtension: true }), 'client');
    assert.equal(await chooseTransferMode(client, 'external'), 'external');
    assert.equal(await chooseTransferMode(client, 'client'), 'client');
    assert.equal(await primarySegmentCount(client), 1, 'PostgreSQL has no segments: one stripe');
    // The detection really reads pg_extension: an installed extension is seen.
    const { rows } = await client.query("SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'plpgsql'");
    assert.equal(rows[0].n, 1);
  } finally {
    await client.end();
  }
});
