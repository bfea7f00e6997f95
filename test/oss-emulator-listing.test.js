'use strict';
// Listing 2,500 keys through ali-oss list() (v1) and listV2(): paging with marker /
// continuation token, start-after, prefix and delimiter, in V1 and V4.
const test = require('node:test');
const assert = require('node:assert/strict');
const { useOssEmulator } = require('./support/oss');

const oss = useOssEmulator({ buckets: ['list-bucket'] });

// 2,500 keys: 25 "directories" of 100 files, plus a few top-level files.
const DIRS = Array.from({ length: 25 }, (_, i) => `dir${String(i).padStart(2, '0')}/`);
const KEYS = [];
for (const d of DIRS) for (let j = 0; j < 98; j++) KEYS.push(`${d}file-${String(j).padStart(3, '0')}.csv`);
for (const d of DIRS) KEYS.push(`${d}sub/nested.csv`, `${d}sub/deeper/x.csv`);
KEYS.push('top-1.txt', 'top-2.txt');
// The fixture below puts 2,500 + 2 keys; trim to exactly 2,500 by dropping two nested ones.
KEYS.splice(KEYS.indexOf('dir24/sub/deeper/x.csv'), 1);
KEYS.splice(KEYS.indexOf('dir24/sub/nested.csv'), 1);
const SORTED = [...KEYS].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));

test.before(async () => {
  await oss.ready;
  assert.equal(KEYS.length, 2500);
  const c = oss.client();
  const queue = [...KEYS];
  // Upload with bounded concurrency; 16 in flight keeps a 2-core machine busy but not swamped.
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let k = queue.shift(); k !== undefined; k = queue.shift()) await c.put(k, Buffer.from(k));
  }));
});

async function allV1(c, query) {
  const keys = [];
  const prefixes = [];
  let marker;
  let pages = 0;
  for (;;) {
    const page = await c.list({ ...query, ...(marker ? { marker } : {}) });
    pages++;
    keys.push(...page.objects.map((o) => o.name));
    prefixes.push(...(page.prefixes || []));
    if (!page.isTruncated) break;
    assert.ok(page.nextMarker, 'a truncated page names the next marker');
    marker = page.nextMarker;
  }
  return { keys, prefixes, pages };
}

async function allV2(c, query) {
  const keys = [];
  const prefixes = [];
  let token;
  let pages = 0;
  for (;;) {
    const page = await c.listV2({ ...query, ...(token ? { 'continuation-token': token } : {}) });
    pages++;
    keys.push(...page.objects.map((o) => o.name));
    prefixes.push(...(page.prefixes || []));
    assert.equal(page.keyCount, page.objects.length + (page.prefixes || []).length);
    if (!page.isTruncated) break;
    assert.ok(page.nextContinuationToken, 'a truncated page carries a continuation token');
    token = page.nextContinuationToken;
  }
  return { keys, prefixes, pages };
}

for (const v4 of [false, true]) {
  const sig = v4 ? 'V4' : 'V1';

  test(`${sig}: list v1 pages through all 2,500 keys in order (default 100 and max 1000)`, async () => {
    const c = oss.client({ v4, bucket: 'list-bucket' });
    const byDefault = await allV1(c, {});
    assert.equal(byDefault.pages, 25);
    assert.deepEqual(byDefault.keys, SORTED);
    const big = await allV1(c, { 'max-keys': 1000 });
    assert.equal(big.pages, 3);
    assert.deepEqual(big.keys, SORTED);
    const first = await c.list({ 'max-keys': 1 });
    assert.equal(first.objects[0].owner.id.length > 0, true, 'v1 entries carry an Owner');
    assert.equal(first.objects[0].size, SORTED[0].length);
  });

  test(`${sig}: list v2 pages through all keys with continuation tokens, and start-after`, async () => {
    const c = oss.client({ v4, bucket: 'list-bucket' });
    const all = await allV2(c, { 'max-keys': 333 });
    assert.equal(all.pages, 8);
    assert.deepEqual(all.keys, SORTED);
    const after = await allV2(c, { 'start-after': 'dir12/file-050.csv', 'max-keys': 1000 });
    assert.deepEqual(after.keys, SORTED.filter((k) => Buffer.compare(Buffer.from(k), Buffer.from('dir12/file-050.csv')) > 0));
    const page = await c.listV2({ 'max-keys': 2 });
    assert.equal(page.objects[0].owner, null, 'no Owner without fetch-owner');
    const owned = await c.listV2({ 'max-keys': 2, 'fetch-owner': true });
    assert.ok(owned.objects[0].owner && owned.objects[0].owner.id);
  });

  test(`${sig}: delimiter groups common prefixes, in v1 and v2, with paging`, async () => {
    const c = oss.client({ v4, bucket: 'list-bucket' });
    for (const lister of [allV1, allV2]) {
      const top = await lister(c, { delimiter: '/', 'max-keys': 10 });
      assert.deepEqual(top.prefixes, DIRS);
      assert.deepEqual(top.keys, ['top-1.txt', 'top-2.txt']);
      assert.equal(top.pages, 3, '27 entries at 10 per page');

      const inDir = await lister(c, { prefix: 'dir03/', delimiter: '/', 'max-keys': 7 });
      assert.deepEqual(inDir.prefixes, ['dir03/sub/']);
      assert.deepEqual(inDir.keys, SORTED.filter((k) => k.startsWith('dir03/') && !k.startsWith('dir03/sub/')));

      const nested = await lister(c, { prefix: 'dir03/sub/', delimiter: '/' });
      assert.deepEqual(nested.keys, ['dir03/sub/nested.csv']);
      assert.deepEqual(nested.prefixes, ['dir03/sub/deeper/']);

      const recursive = await lister(c, { prefix: 'dir07/', 'max-keys': 1000 });
      assert.equal(recursive.keys.length, 100);
    }
  });
}

test('path style (V1 and V4): list and listV2 with delimiter and paging', async () => {
  for (const v4 of [false, true]) {
    const c = oss.client({ style: 'path', v4, bucket: 'list-bucket' });
    const v1 = await allV1(c, { delimiter: '/', 'max-keys': 10 });
    assert.deepEqual(v1.prefixes, DIRS);
    const v2 = await allV2(c, { prefix: 'dir05/', 'max-keys': 40 });
    assert.deepEqual(v2.keys, SORTED.filter((k) => k.startsWith('dir05/')));
  }
});

test('listing edge cases: empty prefix match, max-keys bounds, url encoding', async () => {
  const c = oss.client({ bucket: 'list-bucket' });
  const none = await c.list({ prefix: 'nothing-here/' });
  assert.deepEqual(none.objects, []);
  assert.equal(none.isTruncated, false);
  for (const bad of [0, 1001]) {
    await assert.rejects(c.list({ 'max-keys': bad }), (err) => err.status === 400 && err.code === 'InvalidArgument');
  }
  await c.put('enc/a b&c.txt', Buffer.from('x'));
  const enc = await c.listV2({ prefix: 'enc/', 'encoding-type': 'url' });
  assert.deepEqual(enc.objects.map((o) => o.name), ['enc%2Fa%20b%26c.txt']);
  await assert.rejects(c.listV2({ 'continuation-token': '!!not-a-token!!' }), (err) => err.code === 'InvalidArgument');
});
