'use strict';
// `npm run bench stream-held`: the memory stream mode keeps per message while it waits for its
// commit (issue 15's peak RSS, issue 17's scavenges: held messages are what every young-
// generation collection copies until they are promoted). Messages are accepted by a real
// StreamTargets whose commit never returns; after a full GC the heap and off-heap (Buffer)
// growth per message is measured, against the anchor: the same messages and their `done`
// closures held in a plain array (what Node-RED keeps per message anyway).
// Deterministic (no timing): load on the machine does not move it.
// Env: HELD_ONE_ROW (default 20,000 one-row messages), HELD_BULK (default 100 messages of 1,000 rows).
const path = require('node:path');
const { report } = require('./support/report');
const { StreamTargets } = require(path.join(__dirname, '..', 'dist', 'gpss'));

if (!global.gc) throw new Error('run with --expose-gc (npm run bench does)');
const column = (name, databaseType) => ({ name, databaseType, hasLength: false, length: 0, hasPrecisionScale: false, precision: 0, scale: 0, hasNullable: true, nullable: true });
const COLUMNS = [column('id', 'int8'), column('device', 'text'), column('ts', 'timestamp'), column('v', 'float8'), column('note', 'text')];
const BASE_TS = Date.UTC(2026, 0, 1);
/** The rows of the gpss-nodes bench: one row object per message, or arrays in bulk messages. */
const rowObject = (i) => ({ id: i, device: `dev-${i % 1000}`, ts: new Date(BASE_TS + i * 1000), v: i * 0.25, note: `note ${i}` });
const rowArray = (i) => [i, `dev-${i % 1000}`, new Date(BASE_TS + i * 1000), i * 0.25, `note ${i}`];

/** Like gpss-write's MessageEntry: the message, the node, Node-RED's done; its rows once encoded. */
class Entry {
  constructor(msg, node, done) {
    this.rows = [];
    this.bytes = 0;
    this.msg = msg;
    this.node = node;
    this.done = done;
  }
  get payload() {
    return this.msg.payload;
  }
  entry(rows, bytes) {
    this.rows = rows;
    this.bytes = bytes;
    return this;
  }
  empty() {}
  failed() {}
  ack() {}
  fail() {}
}

function memory() {
  global.gc();
  global.gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external };
}

async function measure(messages, rowsPerMessage) {
  const never = () => new Promise(() => {});
  const settings = { writer: { commitRows: 1e9, commitIntervalMs: 3600000, buffer: { maxRows: 1e9, maxBytes: 1e12 }, maxRetries: 0, backoff: { baseMs: 5, maxMs: 10, jitter: 0 } }, writeBytes: 1 << 20 };
  const targets = new StreamTargets({ describeTable: async () => COLUMNS, commitRows: never }, settings);
  const target = targets.target({ schema: 'public', table: 't', mode: 'insert' });
  await target.encoderReady;
  const node = {};
  const make = (i) => (rowsPerMessage === 1 ? rowObject(i) : Array.from({ length: rowsPerMessage }, (_, j) => rowArray(i * rowsPerMessage + j)));
  target.write(new Entry({ payload: make(-1) }, node, () => {})); // the first slab and compiled paths
  const m0 = memory();
  const held = [];
  for (let i = 0; i < messages; i++) {
    const msg = { _msgid: (Math.random() * 1e16).toString(16), payload: make(i) };
    held.push([msg, (err) => (msg.error = err)]);
  }
  const m1 = memory();
  for (const [msg, done] of held) target.write(new Entry(msg, node, done));
  const m2 = memory();
  if (target.writer.heldMessages !== messages + 1) throw new Error(`held ${target.writer.heldMessages} messages`);
  const per = (a, b, k) => (b[k] - a[k]) / messages;
  return { anchorHeap: per(m0, m1, 'heap'), oursHeap: per(m1, m2, 'heap'), oursExternal: per(m1, m2, 'external') };
}

async function main() {
  const oneRow = Number(process.env.HELD_ONE_ROW || 20000);
  const bulk = Number(process.env.HELD_BULK || 100);
  const a = await measure(oneRow, 1);
  const b = await measure(bulk, 1000);
  report('stream-held', [
    {
      case: `one-row messages held for their commit (${oneRow}): JS heap bytes per message`,
      unit: 'B',
      higherIsBetter: false,
      ours: a.oursHeap,
      anchor: a.anchorHeap,
      anchorName: "the message and its done closure alone (Node-RED's share)",
      extra: { 'ours off-heap B (encoded row, shared slabs)': a.oursExternal.toFixed(1) },
    },
    {
      case: `1,000-row messages held (${bulk}): JS heap bytes per row`,
      unit: 'B',
      higherIsBetter: false,
      ours: b.oursHeap / 1000,
      anchor: b.anchorHeap / 1000,
      anchorName: "the message's own rows alone",
      extra: { 'ours off-heap B per row (encoded bytes + row ends)': (b.oursExternal / 1000).toFixed(1) },
    },
  ]);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
