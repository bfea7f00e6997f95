'use strict';
// Pure functions of Node-RED message sequences (src/nodes/kit/sequence.ts).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { nestedParts, partsOf, SequenceCounter } = require('../dist/nodes/kit');

test('nestedParts keeps the incoming parts under parts.parts, count only when given', () => {
  assert.deepEqual(nestedParts(undefined, 'b', 0), { id: 'b', index: 0 });
  const outer = { id: 'a', index: 3, count: 5, type: 'array' };
  assert.deepEqual(nestedParts(outer, 'b', 2, 3), { id: 'b', index: 2, count: 3, parts: outer });
});

test('partsOf accepts split-style parts and refuses anything else', () => {
  assert.deepEqual(partsOf({ parts: { id: 'x', index: 0 } }), { id: 'x', index: 0 });
  for (const parts of [undefined, null, 'x', { id: 'x' }, { index: 0 }, { id: 'x', index: -1 }, { id: 'x', index: 1.5 }, { id: {}, index: 0 }]) {
    assert.equal(partsOf({ parts }), null, JSON.stringify(parts));
  }
});

test('SequenceCounter: finished once count parts were seen, in any order, count on any part', () => {
  const c = new SequenceCounter();
  assert.equal(c.add({ id: 's', index: 2 }).finished, false);
  assert.deepEqual(c.add({ id: 's', index: 0, count: 3 }), { id: 's', seen: 2, count: 3, finished: false });
  assert.deepEqual(c.add({ id: 't', index: 0, count: 1 }), { id: 't', seen: 1, count: 1, finished: true });
  assert.deepEqual(c.add({ id: 's', index: 1 }), { id: 's', seen: 3, count: 3, finished: true });
  assert.equal(c.size, 0, 'finished sequences are forgotten');
  // The same id again is a new sequence.
  assert.equal(c.add({ id: 's', index: 0, count: 2 }).finished, false);
});

test('SequenceCounter: index beyond count and too many open sequences are errors', () => {
  const c = new SequenceCounter(2);
  c.add({ id: 'a', index: 0, count: 2 });
  assert.throws(() => c.add({ id: 'a', index: 2 }), /index 2 is not below msg\.parts\.count 2/);
  c.add({ id: 'b', index: 0 });
  c.add({ id: 'c', index: 0 });
  assert.throws(() => c.add({ id: 'd', index: 0 }), /more than 2 message sequences/);
});

test('SequenceCounter.takeIdle hands back sequences without a part for the given time, with their data', () => {
  const c = new SequenceCounter();
  c.add({ id: 'old', index: 0, count: 3 }, { m: 1 });
  const now = Date.now();
  assert.deepEqual(c.takeIdle(1000, now), []);
  assert.deepEqual(c.takeIdle(1000, now + 1000), [{ id: 'old', seen: 1, count: 3, data: { m: 1 } }]);
  assert.equal(c.size, 0);
});
