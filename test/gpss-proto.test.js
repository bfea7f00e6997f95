'use strict';
// proto/gpss.proto loads with the loader options of spec §8 and keeps the seed's numbering.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const protoLoader = require('@grpc/proto-loader');
const grpc = require('@grpc/grpc-js');
const { GPSS_PROTO_PATH, GPSS_LOADER_OPTIONS, GPSS_METHODS, loadGpssPackageDefinition } = require('../dist/gpss/proto.js');

const PROTO = path.join(__dirname, '..', 'proto', 'gpss.proto');
const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });

/** Field descriptor of message `api.<msg>` by name (proto-loader keeps the descriptor proto). */
function field(msg, name) {
  const type = def[`api.${msg}`];
  assert.ok(type, `message api.${msg}`);
  const f = type.type.field.find((x) => x.name === name);
  assert.ok(f, `field ${msg}.${name}`);
  return f;
}

test('dist/gpss/proto.js resolves proto/gpss.proto and uses the spec loader options', () => {
  assert.equal(GPSS_PROTO_PATH, PROTO);
  assert.deepStrictEqual({ ...GPSS_LOADER_OPTIONS }, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  assert.ok(loadGpssPackageDefinition()['api.Gpss']);
});

test('service api.Gpss has exactly the eight unary methods at /api.Gpss/<Method>', () => {
  const svc = def['api.Gpss'];
  assert.deepStrictEqual(Object.keys(svc).sort(), [...GPSS_METHODS].sort());
  assert.deepStrictEqual([...GPSS_METHODS].sort(), ['Close', 'Connect', 'DescribeTable', 'Disconnect', 'ListSchema', 'ListTable', 'Open', 'Write']);
  const io = {
    Connect: ['ConnectRequest', 'Session'],
    Disconnect: ['Session', 'Empty'],
    Open: ['OpenRequest', 'Empty'],
    Write: ['WriteRequest', 'Empty'],
    Close: ['CloseRequest', 'TransferStats'],
    ListSchema: ['ListSchemaRequest', 'Schemas'],
    ListTable: ['ListTableRequest', 'Tables'],
    DescribeTable: ['DescribeTableRequest', 'Columns'],
  };
  for (const [name, [req, res]] of Object.entries(io)) {
    const m = svc[name];
    assert.equal(m.path, `/api.Gpss/${name}`);
    assert.equal(m.requestStream, false, `${name} unary request`);
    assert.equal(m.responseStream, false, `${name} unary response`);
    assert.equal(m.requestType.type.name, req, `${name} request`);
    assert.equal(m.responseType.type.name, res, `${name} response`);
  }
  // grpc-js builds a client for it, whose generated `close` is the Close RPC.
  const Gpss = grpc.loadPackageDefinition(def).api.Gpss;
  assert.equal(typeof Gpss.prototype.Close, 'function');
  assert.equal(typeof Gpss.prototype.close, 'function');
});

test('key field numbers match the seed', () => {
  const expect = [
    ['CloseRequest', 'session', 1],
    ['CloseRequest', 'MaxErrorRows', 2],
    ['CloseRequest', 'Abort', 3],
    ['ConnectRequest', 'Host', 1],
    ['ConnectRequest', 'Password', 4],
    ['ConnectRequest', 'DB', 5],
    ['ConnectRequest', 'SessionTimeout', 7],
    ['Session', 'ID', 1],
    ['DBValue', 'Int32Value', 1],
    ['DBValue', 'Int64Value', 2],
    ['DBValue', 'Float32Value', 5],
    ['DBValue', 'Float64Value', 6],
    ['DBValue', 'StringValue', 7],
    ['DBValue', 'BytesValue', 8],
    ['DBValue', 'TimeStampValue', 10],
    ['DBValue', 'NullValue', 11],
    ['DBValue', 'OtherValue', 12],
    ['Row', 'Columns', 1],
    ['RowData', 'Data', 1],
    ['WriteRequest', 'Session', 1],
    ['WriteRequest', 'Rows', 2],
    ['OpenRequest', 'Session', 1],
    ['OpenRequest', 'StagingSchema', 8],
    ['OpenRequest', 'avro', 9],
    ['OpenRequest', 'proto', 15],
    ['OpenRequest', 'InsertOption', 100],
    ['OpenRequest', 'UpdateOption', 101],
    ['OpenRequest', 'MergeOption', 102],
    ['InsertOption', 'TruncateTable', 2],
    ['InsertOption', 'ErrorLimitCount', 4],
    ['InsertOption', 'ErrorLimitPercentage', 5],
    ['MergeOption', 'ErrorLimitPercentage', 6],
    ['TransferStats', 'ErrorRows', 3],
    ['ColumnInfo', 'Nullable', 9],
  ];
  for (const [msg, name, number] of expect) assert.equal(field(msg, name).number, number, `${msg}.${name}`);
  // CloseRequest has no upper-case Session field (spec §8).
  assert.equal(def['api.CloseRequest'].type.field.some((f) => f.name === 'Session'), false);
  // The three options are the members of oneof Option; DBValue's members form oneof DBType.
  const open = def['api.OpenRequest'].type;
  assert.deepStrictEqual(open.oneofDecl.map((o) => o.name), ['Option']);
  const dbv = def['api.DBValue'].type;
  assert.deepStrictEqual(dbv.oneofDecl.map((o) => o.name), ['DBType']);
  assert.equal(dbv.field.length, 9);
  // The descriptor defaults oneofIndex to 0 for every field, so membership is read from the
  // reflection of the same file (protobufjs, which proto-loader uses underneath).
  const { root } = require('./support/gpss-client-protobufjs.js');
  assert.deepStrictEqual(root.lookupType('api.OpenRequest').oneofs.Option.fieldsArray.map((f) => f.name), ['InsertOption', 'UpdateOption', 'MergeOption']);
  assert.deepStrictEqual(
    root.lookupType('api.DBValue').oneofs.DBType.fieldsArray.map((f) => f.name),
    ['Int32Value', 'Int64Value', 'Float32Value', 'Float64Value', 'StringValue', 'BytesValue', 'TimeStampValue', 'NullValue', 'OtherValue'],
  );
  // Types of the fields that carry row values.
  assert.equal(field('DBValue', 'TimeStampValue').typeName, 'google.protobuf.Timestamp');
  assert.equal(field('DBValue', 'NullValue').typeName, 'google.protobuf.NullValue');
  assert.equal(field('DBValue', 'Int64Value').type, 'TYPE_INT64');
  assert.equal(field('DBValue', 'Float32Value').type, 'TYPE_FLOAT');
  // InsertOption never had a field 3.
  assert.equal(def['api.InsertOption'].type.field.some((f) => f.number === 3), false);
  assert.deepStrictEqual(def['api.RelationType'].type.value.map((v) => [v.name, v.number]), [['Table', 0], ['View', 1], ['Index', 2], ['Sequence', 3], ['Special', 4], ['Other', 255]]);
});

test('proto/gpss.proto is the seed with only the stray brace removed', () => {
  const proto = fs.readFileSync(PROTO, 'utf8');
  const seedPath = path.join(__dirname, '..', '..', 'shared', 'seeds', '004_882fbd5eea323957.txt');
  // The §16 block hash recorded in the spec (also verifiable without the seed).
  const hash = crypto.createHash('sha256').update(proto).digest('hex');
  const trimmedHash = crypto.createHash('sha256').update(proto.replace(/\n$/, '')).digest('hex');
  assert.ok(
    [hash, trimmedHash].includes('d0c082ba9e1c85fbb32c1748334d17f198032683f0f8e8f6d51719370737742e'),
    `sha256 ${hash} / ${trimmedHash}`,
  );
  assert.match(proto, /string proto = 15;\n\s*\n\s*oneof Option/);
  if (fs.existsSync(seedPath)) assert.ok(fs.readFileSync(seedPath, 'utf8').includes('string proto = 15;'));
});
