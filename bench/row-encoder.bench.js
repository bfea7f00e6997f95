'use strict';
// Row encoder throughput: ours (hand-written wire encoding) vs protobufjs's reflection-generated
// `api.Row` from the same proto/gpss.proto, on the same rows of the benchmark shape
// (id bigint, ts timestamp, device text, value double precision, payload text ~40 chars).
//
// Cases:
//   encodeRow          DBValue[] → Row bytes          vs Row.encode(row).finish()
//   createRowEncoder   JS object → Row bytes          vs map object → DBValues + Row.encode
//   WriteRequest       5000 encoded rows → request     vs WriteRequest.encode({Rows: [{Data}]})
//   decodeRow          Row bytes → DBValue[]          vs Row.decode (+ toObject to the same shape)
//   Write RPC          GpssClient.write, 5000-row batches to a do-nothing grpc-js server on loopback
//                      vs the proto-loader generated client's Write({Session, Rows: [{Data}]})
// Usage: node bench/row-encoder.bench.js [rows]   (npm run bench row-encoder)
const path = require('node:path');
const assert = require('node:assert/strict');
const protobuf = require('protobufjs');
const { report, bestOf } = require('./support/report');
const dist = path.join(__dirname, '..', 'dist', 'gpss');
const { encodeRow, decodeRow } = require('../test/support/row-oracle');
const { createRowEncoder } = require(path.join(dist, 'value-mapping.js'));
const { encodeWriteRequest } = require(path.join(dist, 'write-request.js'));
const { GpssClient } = require(path.join(dist, 'client.js'));
const { gpssServiceDefinition, gpssClientConstructor } = require(path.join(dist, 'proto.js'));
const grpc = require('@grpc/grpc-js');

const N = Number(process.argv[2]) || 200_000;
const RUNS = 5;
const BATCH = 5000;

const root = protobuf.loadSync(path.join(__dirname, '..', 'proto', 'gpss.proto'));
const Row = root.lookupType('api.Row');
const WriteRequest = root.lookupType('api.WriteRequest');

// ---- data ---------------------------------------------------------------------------------
const T0 = Date.UTC(2026, 0, 1);
const objects = new Array(N);
for (let i = 0; i < N; i++) {
  objects[i] = {
    id: 1_000_000_000_000 + i,
    ts: new Date(T0 + i * 37),
    device: `device-${String(i % 1000).padStart(4, '0')}`,
    value: Math.sin(i) * 1000,
    payload: `{"status":"ok","seq":${i},"temp":${(20 + (i % 150) / 10).toFixed(1)}}`.padEnd(40, ' '),
  };
}
function toDBValues(o) {
  const ms = o.ts.getTime();
  const seconds = Math.floor(ms / 1000);
  return [
    { Int64Value: String(o.id) },
    { TimeStampValue: { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1e6 } },
    { StringValue: o.device },
    { Float64Value: o.value },
    { StringValue: o.payload },
  ];
}
const dbRows = objects.map(toDBValues);
// protobufjs gets its natural input: plain objects in the message's shape (Row.encode accepts them).
const pbRows = dbRows.map((values) => ({ Columns: values }));
const columns = [
  ['id', 'INT8'], ['ts', 'TIMESTAMP'], ['device', 'TEXT'], ['value', 'FLOAT8'], ['payload', 'TEXT'],
].map(([name, databaseType]) => ({ name, databaseType, hasLength: false, length: 0, hasPrecisionScale: false, precision: 0, scale: 0, hasNullable: true, nullable: true }));
const encoder = createRowEncoder(columns);

// Same rows from all three paths before timing anything.
for (const i of [0, 1, N - 1]) {
  const a = encodeRow(dbRows[i]);
  // (protobufjs also writes a zero Timestamp.nanos that is present; the values are the same.)
  assert.deepStrictEqual(decodeRow(Row.encode(pbRows[i]).finish()), decodeRow(a), `row ${i}: protobufjs values`);
  assert.equal(encoder.encodeObject(objects[i]).toString('hex'), a.toString('hex'), `row ${i}: createRowEncoder bytes`);
}

// ---- timing -------------------------------------------------------------------------------
let sink = 0;
function rate(fn, count) {
  const t0 = process.hrtime.bigint();
  fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return count / s;
}

function oursEncodeRow() {
  return rate(() => {
    for (let i = 0; i < N; i++) sink += encodeRow(dbRows[i]).length;
  }, N);
}
function pbEncodeRow() {
  return rate(() => {
    for (let i = 0; i < N; i++) sink += Row.encode(pbRows[i]).finish().length;
  }, N);
}
function oursEncodeObject() {
  return rate(() => {
    for (let i = 0; i < N; i++) sink += encoder.encodeObject(objects[i]).length;
  }, N);
}
function pbEncodeObject() {
  return rate(() => {
    for (let i = 0; i < N; i++) sink += Row.encode({ Columns: toDBValues(objects[i]) }).finish().length;
  }, N);
}

const encoded = dbRows.map((r) => encodeRow(r));
const batches = [];
for (let i = 0; i < N; i += BATCH) batches.push(encoded.slice(i, i + BATCH));
const SESSION = '3f2a9c1e-6d7b-4e59-9a8c-0d5e1f2a3b4c';
assert.equal(
  encodeWriteRequest(SESSION, batches[0]).toString('hex'),
  Buffer.from(WriteRequest.encode({ Session: { ID: SESSION }, Rows: batches[0].map((Data) => ({ Data })) }).finish()).toString('hex'),
);
function oursWrite() {
  return rate(() => {
    for (const b of batches) sink += encodeWriteRequest(SESSION, b).length;
  }, N);
}
function pbWrite() {
  return rate(() => {
    for (const b of batches) sink += WriteRequest.encode({ Session: { ID: SESSION }, Rows: b.map((Data) => ({ Data })) }).finish().length;
  }, N);
}

const pbToObject = { longs: String, oneofs: false };
function oursDecode() {
  return rate(() => {
    for (let i = 0; i < N; i++) sink += decodeRow(encoded[i]).length;
  }, N);
}
function pbDecode() {
  return rate(() => {
    for (let i = 0; i < N; i++) sink += Row.toObject(Row.decode(encoded[i]), pbToObject).Columns.length;
  }, N);
}

// A do-nothing server that does not even decode Write requests: only the client side differs.
async function startNullServer() {
  const def = { ...gpssServiceDefinition() };
  def.Write = { ...def.Write, requestDeserialize: (b) => b };
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  server.addService(def, { Write: (call, cb) => cb(null, {}) });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { server, port };
}

async function rpcCases(results) {
  const { server, port } = await startNullServer();
  const ours = new GpssClient({ host: '127.0.0.1', port });
  const Gpss = gpssClientConstructor();
  const generated = new Gpss(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const genWrite = (rows) =>
    new Promise((resolve, reject) =>
      generated.Write({ Session: { ID: SESSION }, Rows: rows.map((Data) => ({ Data })) }, { deadline: Date.now() + 30000 }, (e) => (e ? reject(e) : resolve())),
    );
  const timeAsync = async (fn) => {
    const t0 = process.hrtime.bigint();
    for (const b of batches) await fn(b);
    return N / (Number(process.hrtime.bigint() - t0) / 1e9);
  };
  const oursRpc = () => timeAsync((b) => ours.write(SESSION, b));
  const genRpc = () => timeAsync(genWrite);
  await oursRpc();
  await genRpc();
  let o = 0;
  let a = 0;
  for (let r = 0; r < RUNS; r++) {
    o = Math.max(o, await bestOf(1, oursRpc));
    a = Math.max(a, await bestOf(1, genRpc));
  }
  results.push({ case: `Write RPC, ${BATCH}-row batches, loopback null server`, unit: 'rows/s', ours: o, anchor: a, anchorName: 'proto-loader client Write' });
  ours.shutdown();
  grpc.Client.prototype.close.call(generated);
  server.forceShutdown();
}

(async () => {
  // Warm both sides up so that neither pays for optimisation inside its timed runs.
  for (const f of [oursEncodeRow, pbEncodeRow, oursEncodeObject, pbEncodeObject, oursWrite, pbWrite, oursDecode, pbDecode]) f();
  const results = [];
  const pair = async (name, ours, anchor, anchorName) => {
    // Interleave the two so that machine noise (shared cores) hits both alike.
    let o = 0;
    let a = 0;
    for (let r = 0; r < RUNS; r++) {
      o = Math.max(o, await bestOf(1, ours));
      a = Math.max(a, await bestOf(1, anchor));
    }
    results.push({ case: name, unit: 'rows/s', ours: o, anchor: a, anchorName });
  };
  await pair('encodeRow (DBValue[] → Row bytes)', oursEncodeRow, pbEncodeRow, 'protobufjs Row.encode');
  await pair('createRowEncoder.encodeObject (JS object → Row bytes)', oursEncodeObject, pbEncodeObject, 'map + protobufjs Row.encode');
  await pair(`WriteRequest of ${BATCH} encoded rows`, oursWrite, pbWrite, 'protobufjs WriteRequest.encode');
  await pair('decodeRow (Row bytes → DBValue[])', oursDecode, pbDecode, 'protobufjs Row.decode + toObject');
  await rpcCases(results);
  console.log(`rows: ${N}, best of ${RUNS} runs each (interleaved); row size ${encoded[0].length} bytes; checksum ${sink % 1000}`);
  report('row-encoder', results);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
