'use strict';
// GpssClient over real gRPC on loopback against a small grpc-js server built here from the
// same proto: the server records what the client really sent and answers as scripted.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const grpc = require('@grpc/grpc-js');
const { GpssClient, GpssError, isOutcomeUnknown, isSessionLost, buildOpenRequest } = require('../dist/gpss/client.js');
const { gpssServiceDefinition } = require('../dist/gpss/proto.js');
const { encodeRow, decodeRow } = require('./support/row-oracle');
const { encodeWriteRequest, nextWriteEnd, rowWireSize } = require('../dist/gpss/write-request.js');
const { splitIntoWrites, rowDataSize } = require('./support/write-cut-oracle');
const { WriteRequest } = require('./support/gpss-client-protobufjs.js');

/** Starts a scripted GPSS peer; `script[rpc](request)` returns a response, throws {code, details}, or a promise. */
async function startPeer(script = {}, serverOptions = {}) {
  const calls = [];
  const server = new grpc.Server(serverOptions);
  const def = gpssServiceDefinition();
  const impl = {};
  for (const name of Object.keys(def)) {
    impl[name] = (call, callback) => {
      calls.push({ rpc: name, request: call.request });
      Promise.resolve()
        .then(() => (script[name] ? script[name](call.request, call) : {}))
        .then((res) => callback(null, res ?? {}), (err) => callback({ code: err.code ?? grpc.status.UNKNOWN, details: err.details ?? String(err.message) }));
    };
  }
  server.addService(def, impl);
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    calls,
    of: (rpc) => calls.filter((c) => c.rpc === rpc).map((c) => c.request),
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
    kill: () => server.forceShutdown(),
  };
}

function withPeer(script, fn, { clientOptions, endpoint, serverOptions } = {}) {
  return async () => {
    const peer = await startPeer(script, serverOptions);
    const client = new GpssClient({ host: '127.0.0.1', port: peer.port, ...endpoint }, clientOptions);
    try {
      await fn(client, peer);
    } finally {
      client.shutdown();
      peer.kill();
    }
  };
}

const LOGIN = { host: 'db.example', port: 5432, user: 'loader', password: 's3cr3t-pw', database: 'warehouse', sessionTimeoutSec: 90 };

test(
  'connect sends the login and returns the session ID; disconnect sends it back',
  withPeer({ Connect: () => ({ ID: 'sess-1' }) }, async (client, peer) => {
    const id = await client.connect(LOGIN);
    assert.equal(id, 'sess-1');
    const [req] = peer.of('Connect');
    assert.equal(req.Host, 'db.example');
    assert.equal(req.Port, 5432);
    assert.equal(req.Username, 'loader');
    assert.equal(req.Password, 's3cr3t-pw');
    assert.equal(req.DB, 'warehouse');
    assert.equal(req.SessionTimeout, 90);
    await client.disconnect(id);
    assert.deepStrictEqual(peer.of('Disconnect'), [{ ID: 'sess-1' }]);
  }),
);

test(
  'connect rejects an empty session ID from the server',
  withPeer({ Connect: () => ({ ID: '' }) }, async (client) => {
    await assert.rejects(client.connect(LOGIN), (e) => e instanceof GpssError && e.rpc === 'Connect' && e.code === grpc.status.INTERNAL);
  }),
);

test(
  'open: insert, update and merge set the matching oneof member and fields',
  withPeer({}, async (client, peer) => {
    await client.open('S', { schema: 'sales', table: 'orders', mode: 'insert', insertColumns: ['a', 'b'], truncate: true, errorLimitCount: 5, errorLimitPercentage: 10, preSql: 'select 1', postSql: 'select 2', timeoutSec: 7 });
    await client.open('S', { table: 'orders', mode: 'update', matchColumns: ['id'], updateColumns: ['v'], condition: 'into_table.v < 3' });
    await client.open('S', { table: 'orders', mode: 'merge', insertColumns: ['id', 'v'], matchColumns: ['id'], updateColumns: ['v'] });
    const [ins, upd, mrg] = peer.of('Open');
    assert.deepStrictEqual(ins.Session, { ID: 'S' });
    assert.equal(ins.SchemaName, 'sales');
    assert.equal(ins.TableName, 'orders');
    assert.equal(ins.PreSQL, 'select 1');
    assert.equal(ins.PostSQL, 'select 2');
    assert.equal(ins.Timeout, 7);
    assert.equal(ins.Option, 'InsertOption');
    assert.deepStrictEqual(ins.InsertOption, { InsertColumns: ['a', 'b'], TruncateTable: true, ErrorLimitCount: '5', ErrorLimitPercentage: 10 });
    assert.equal(upd.Option, 'UpdateOption');
    assert.equal(upd.SchemaName, '');
    assert.deepStrictEqual(upd.UpdateOption, { MatchColumns: ['id'], UpdateColumns: ['v'], Condition: 'into_table.v < 3', ErrorLimitCount: '0', ErrorLimitPercentage: 0 });
    assert.equal(mrg.Option, 'MergeOption');
    assert.deepStrictEqual(mrg.MergeOption.InsertColumns, ['id', 'v']);
    assert.deepStrictEqual(mrg.MergeOption.MatchColumns, ['id']);
    // Format fields are never set (spec §3.5).
    for (const f of ['avro', 'binary', 'csv', 'delimited', 'json', 'custom']) assert.equal(ins[f], null, f);
    assert.equal(ins.proto, '');
  }),
);

test('open validates options locally with INVALID_ARGUMENT and sends nothing', async () => {
  const bad = [
    [{ table: 't', mode: 'update', truncate: true, matchColumns: ['a'], updateColumns: ['b'] }, /truncate works only with mode 'insert'/],
    [{ table: 't', mode: 'update', updateColumns: ['b'] }, /matchColumns must name at least one column/],
    [{ table: 't', mode: 'merge', matchColumns: ['a'] }, /updateColumns must name at least one column/],
    [{ table: 't', mode: 'upsert' }, /mode must be/],
    [{ table: '', mode: 'insert' }, /table is required/],
    [{ table: 't', mode: 'insert', errorLimitPercentage: 101 }, /errorLimitPercentage must be an integer in 0..100/],
    [{ table: 't', mode: 'insert', errorLimitCount: -1 }, /errorLimitCount/],
    [{ table: 't', mode: 'insert', insertColumns: ['a', ''] }, /insertColumns must be a list/],
  ];
  for (const [opts, re] of bad) {
    assert.throws(() => buildOpenRequest('S', opts), (e) => e instanceof GpssError && e.code === grpc.status.INVALID_ARGUMENT && re.test(e.message), JSON.stringify(opts));
  }
  const peer = await startPeer();
  const client = new GpssClient({ host: '127.0.0.1', port: peer.port });
  try {
    await assert.rejects(client.open('S', bad[0][0]), (e) => e instanceof GpssError && e.rpc === 'Open');
    assert.equal(peer.calls.length, 0);
  } finally {
    client.shutdown();
    peer.kill();
  }
});

test(
  'write: rows arrive as RowData whose Data decodes to the values sent, in order',
  withPeer({}, async (client, peer) => {
    const rows = [];
    for (let i = 0; i < 50; i++) {
      rows.push([{ Int64Value: String(-9007199254740993n + BigInt(i)) }, { StringValue: `dev-${i} 😀` }, { Float64Value: i / 3 }, { TimeStampValue: { seconds: String(-1000 + i), nanos: i * 1000 } }, { NullValue: 0 }]);
    }
    await client.write('W1', rows.map(encodeRow));
    const [req] = peer.of('Write');
    assert.deepStrictEqual(req.Session, { ID: 'W1' });
    assert.equal(req.Rows.length, 50);
    req.Rows.forEach((r, i) => assert.deepStrictEqual(decodeRow(r.Data), rows[i], `row ${i}`));
  }),
);

test(
  'write: a large batch is split into sequential WriteRequests under maxWriteBytes, order kept',
  withPeer(
    {},
    async (client, peer) => {
      const rows = [];
      for (let i = 0; i < 300; i++) rows.push(encodeRow([{ Int32Value: i }, { StringValue: 'x'.repeat(100 + (i % 50)) }]));
      await client.write('W2', rows);
      const writes = peer.of('Write');
      assert.ok(writes.length >= 5, `${writes.length} requests`);
      const got = [];
      for (const w of writes) {
        const size = WriteRequest.encode(WriteRequest.fromObject({ Session: { ID: 'W2' }, Rows: w.Rows })).finish().length;
        assert.ok(size <= 8192, `request of ${size} bytes`);
        for (const r of w.Rows) got.push(decodeRow(r.Data)[0].Int32Value);
      }
      assert.deepStrictEqual(got, rows.map((_, i) => i));
    },
    { clientOptions: { maxWriteBytes: 8192 } },
  ),
);

test(
  'write: a smaller Write size asked per call cuts smaller requests; a larger one is held to the client cap',
  withPeer(
    {},
    async (client, peer) => {
      const rows = [];
      for (let i = 0; i < 300; i++) rows.push(encodeRow([{ Int32Value: i }, { StringValue: 'x'.repeat(100 + (i % 50)) }]));
      const sizes = (session) =>
        peer.of('Write').filter((w) => w.Session.ID === session).map((w) => WriteRequest.encode(WriteRequest.fromObject({ Session: w.Session, Rows: w.Rows })).finish().length);
      await client.write('S1', rows, undefined, 2048);
      const small = sizes('S1');
      assert.equal(small.length, splitIntoWrites(rows, 2048).length);
      assert.ok(small.every((n) => n <= 2048), `requests of ${small.join(', ')} bytes`);
      await client.write('S2', rows, undefined, 1 << 20);
      const capped = sizes('S2');
      assert.equal(capped.length, splitIntoWrites(rows, 8192).length);
      assert.ok(capped.every((n) => n <= 8192), `requests of ${capped.join(', ')} bytes`);
      await assert.rejects(client.write('S3', rows, undefined, 64), RangeError);
    },
    { clientOptions: { maxWriteBytes: 8192 } },
  ),
);

test(
  'write: an empty batch sends nothing; a failed request rejects with the server status',
  withPeer({ Write: () => Promise.reject({ code: grpc.status.FAILED_PRECONDITION, details: 'no table open' }) }, async (client, peer) => {
    await client.write('W3', []);
    assert.equal(peer.of('Write').length, 0);
    await assert.rejects(client.write('W3', [encodeRow([{ Int32Value: 1 }])]), (e) => e instanceof GpssError && e.code === grpc.status.FAILED_PRECONDITION && e.rpc === 'Write' && e.details === 'no table open' && /no table open/.test(e.message));
  }),
);

test(
  'close sends the lower-case session key, MaxErrorRows and Abort; stats become numbers',
  withPeer({ Close: (req) => (req.Abort ? {} : { SuccessCount: '9007199254740991', ErrorCount: '2', ErrorRows: ['row 1: column "a": bad', 'row 7: column "b": worse'] }) }, async (client, peer) => {
    const stats = await client.close('C1', { maxErrorRows: -1 });
    assert.deepStrictEqual(stats, { successCount: 9007199254740991, errorCount: 2, errorRows: ['row 1: column "a": bad', 'row 7: column "b": worse'] });
    const aborted = await client.close('C1', { abort: true });
    assert.deepStrictEqual(aborted, { successCount: 0, errorCount: 0, errorRows: [] });
    const [first, second] = peer.of('Close');
    assert.deepStrictEqual(first.session, { ID: 'C1' });
    assert.equal(first.MaxErrorRows, -1);
    assert.equal(first.Abort, false);
    assert.deepStrictEqual(second.session, { ID: 'C1' });
    assert.equal(second.Abort, true);
    assert.equal(second.MaxErrorRows, 0);
  }),
);

test(
  'listSchemas, listTables and describeTable map the responses',
  withPeer(
    {
      ListSchema: () => ({ Schemas: [{ Name: 'public', Owner: 'postgres' }, { Name: 'sales', Owner: 'loader' }] }),
      ListTable: (req) => ({ Tables: [{ Name: `t_in_${req.Schema || 'default'}`, Type: 'Table' }, { Name: 'v', Type: 'View' }] }),
      DescribeTable: () => ({
        Columns: [
          { Name: 'id', DatabaseType: 'INT8', HasNullable: true, Nullable: false },
          { Name: 'name', DatabaseType: 'VARCHAR', HasLength: true, Length: '20', HasNullable: true, Nullable: true },
          { Name: 'amount', DatabaseType: 'NUMERIC', HasPrecisionScale: true, Precision: '12', Scale: '2' },
        ],
      }),
    },
    async (client, peer) => {
      assert.deepStrictEqual(await client.listSchemas('L'), [{ name: 'public', owner: 'postgres' }, { name: 'sales', owner: 'loader' }]);
      assert.deepStrictEqual(await client.listTables('L', 'sales'), [{ name: 't_in_sales', type: 'Table' }, { name: 'v', type: 'View' }]);
      assert.deepStrictEqual((await client.listTables('L'))[0], { name: 't_in_default', type: 'Table' });
      const cols = await client.describeTable('L', 'sales', 'orders');
      assert.deepStrictEqual(cols, [
        { name: 'id', databaseType: 'INT8', hasLength: false, length: 0, hasPrecisionScale: false, precision: 0, scale: 0, hasNullable: true, nullable: false },
        { name: 'name', databaseType: 'VARCHAR', hasLength: true, length: 20, hasPrecisionScale: false, precision: 0, scale: 0, hasNullable: true, nullable: true },
        { name: 'amount', databaseType: 'NUMERIC', hasLength: false, length: 0, hasPrecisionScale: true, precision: 12, scale: 2, hasNullable: false, nullable: false },
      ]);
      assert.deepStrictEqual(peer.of('ListSchema'), [{ Session: { ID: 'L' } }]);
      assert.deepStrictEqual(peer.of('ListTable').map((r) => r.Schema), ['sales', '']);
      assert.deepStrictEqual(peer.of('DescribeTable'), [{ Session: { ID: 'L' }, SchemaName: 'sales', TableName: 'orders' }]);
    },
  ),
);

test(
  'deadlines fire as DEADLINE_EXCEEDED (outcome unknown); per-call deadline overrides the default',
  withPeer(
    { Close: () => new Promise((r) => setTimeout(() => r({}), 1500)), ListSchema: () => new Promise((r) => setTimeout(() => r({}), 400)) },
    async (client) => {
      // The server answers after 400 ms: only the 150 ms default deadline can make this fail.
      await assert.rejects(client.listSchemas('D'), (e) => e instanceof GpssError && e.code === grpc.status.DEADLINE_EXCEEDED && e.rpc === 'ListSchema' && isOutcomeUnknown(e));
      assert.deepStrictEqual(await client.listSchemas('D', 2000), []);
      await assert.rejects(client.close('D', {}, 200), (e) => e.code === grpc.status.DEADLINE_EXCEEDED && e.rpc === 'Close');
    },
    { clientOptions: { deadlineMs: 150 } },
  ),
);

test(
  'server errors map to GpssError with code, rpc and details; the password never appears',
  withPeer(
    {
      Connect: (req) => Promise.reject({ code: grpc.status.UNAUTHENTICATED, details: `password authentication failed for "${req.Username}" (tried ${req.Password})` }),
      Open: () => Promise.reject({ code: grpc.status.NOT_FOUND, details: 'session "zz" not found' }),
      Close: () => Promise.reject({ code: grpc.status.ABORTED, details: 'ERROR: duplicate key (SQLSTATE 23505)' }),
    },
    async (client) => {
      await assert.rejects(client.connect(LOGIN), (e) => {
        assert.ok(e instanceof GpssError && e instanceof Error);
        assert.equal(e.code, grpc.status.UNAUTHENTICATED);
        assert.equal(e.rpc, 'Connect');
        assert.ok(!e.message.includes('s3cr3t-pw') && !e.details.includes('s3cr3t-pw') && !e.stack.includes('s3cr3t-pw'), e.message);
        assert.match(e.message, /UNAUTHENTICATED: password authentication failed for "loader" \(tried \*\*\*\)/);
        return true;
      });
      await assert.rejects(client.open('zz', { table: 't', mode: 'insert' }), (e) => e.code === grpc.status.NOT_FOUND && isSessionLost(e) && !isOutcomeUnknown(e));
      await assert.rejects(client.close('zz'), (e) => e.code === grpc.status.ABORTED && /SQLSTATE 23505/.test(e.message) && !isSessionLost(e));
    },
  ),
);

test('an endpoint with nothing listening fails fast with UNAVAILABLE', async () => {
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const client = new GpssClient({ host: '127.0.0.1', port }, { deadlineMs: 5000 });
  try {
    await assert.rejects(client.connect(LOGIN), (e) => e instanceof GpssError && e.code === grpc.status.UNAVAILABLE && isOutcomeUnknown(e) && !e.message.includes('s3cr3t-pw'));
  } finally {
    client.shutdown();
  }
});

test(
  'shutdown closes the channel: later calls reject with CANCELLED, shutdown is idempotent',
  withPeer({ Connect: () => ({ ID: 'x' }) }, async (client) => {
    assert.equal(await client.connect(LOGIN), 'x');
    client.shutdown();
    client.shutdown();
    await assert.rejects(client.connect(LOGIN), (e) => e instanceof GpssError && e.code === grpc.status.CANCELLED);
  }),
);

test(
  'maxMessageBytes caps what the client receives (RESOURCE_EXHAUSTED) and the Write size',
  withPeer(
    { ListSchema: () => ({ Schemas: Array.from({ length: 200 }, (_, i) => ({ Name: `schema_${i}`, Owner: 'o'.repeat(20) })) }) },
    async (client, peer) => {
      await assert.rejects(client.listSchemas('M'), (e) => e instanceof GpssError && e.code === grpc.status.RESOURCE_EXHAUSTED);
      const rows = Array.from({ length: 100 }, (_, i) => encodeRow([{ Int32Value: i }, { StringValue: 'y'.repeat(100) }]));
      await client.write('M', rows);
      const writes = peer.of('Write');
      assert.ok(writes.length >= 3, `${writes.length} requests`);
      for (const w of writes) {
        const size = WriteRequest.encode(WriteRequest.fromObject({ Session: { ID: 'M' }, Rows: w.Rows })).finish().length;
        assert.ok(size <= 4096, `request of ${size} bytes`);
      }
      assert.equal(writes.reduce((n, w) => n + w.Rows.length, 0), 100);
    },
    { endpoint: { maxMessageBytes: 4096 } },
  ),
);

test('encodeWriteRequest equals protobufjs encoding of the same WriteRequest', () => {
  const rows = [encodeRow([{ StringValue: 'a' }]), encodeRow([]), encodeRow([{ BytesValue: Buffer.alloc(300, 7) }]), encodeRow([{ StringValue: 'z'.repeat(20000) }])];
  for (const session of ['3f2a9c1e-0000-4000-8000-000000000001', 'séssion', '']) {
    const ours = encodeWriteRequest(session, rows);
    const msg = { Rows: rows.map((Data) => ({ Data })) };
    msg.Session = session ? { ID: session } : {};
    const theirs = Buffer.from(WriteRequest.encode(WriteRequest.fromObject(msg)).finish());
    assert.equal(ours.toString('hex'), theirs.toString('hex'), JSON.stringify(session));
    const back = WriteRequest.decode(ours);
    assert.equal(back.Session.ID, session);
    assert.deepStrictEqual(back.Rows.map((r) => Buffer.from(r.Data)), rows);
  }
});

/** The Write groups the client forms (nextWriteEnd, its one cut). */
function cutWrites(rows, maxBytes) {
  const groups = [];
  for (let from = 0; from < rows.length; ) {
    const to = nextWriteEnd(rows, from, maxBytes);
    groups.push(rows.slice(from, to));
    from = to;
  }
  return groups;
}

test('the Write cut keeps order, respects the byte budget by exact size and isolates oversized rows', () => {
  const sizes = [10, 2000, 30, 5000, 7, 4000, 1, 1, 1];
  const rows = sizes.map((n, i) => Buffer.alloc(n, i));
  const groups = cutWrites(rows, 4096);
  assert.deepStrictEqual(groups.flat(), rows);
  for (const g of groups) {
    const size = g.reduce((n, r) => n + rowWireSize(r.length), 0);
    assert.ok(size <= 4096 - 64 || g.length === 1, `group of ${g.length} is ${size} bytes`);
  }
  assert.ok(groups.some((g) => g.length === 1 && g[0].length === 5000));
  assert.deepStrictEqual(groups, splitIntoWrites(rows, 4096));
  assert.deepStrictEqual(cutWrites([], 4096), []);
  for (const n of [0, 1, 125, 126, 127, 128, 16380, 16384, 2097150]) assert.equal(rowWireSize(n), rowDataSize(n), `row of ${n} bytes`);
  assert.equal(rowWireSize(0), 4);
  assert.equal(rowWireSize(125), 129);
  assert.equal(rowWireSize(126), 131);
  assert.equal(rowWireSize(127), 132);
});

test('TLS: the client verifies the server against tls.ca and can present a client certificate', async () => {
  const { makePki } = require('./support/gpss-client-tls.js');
  const pki = makePki();
  // Server requires a client certificate signed by the CA (mutual TLS).
  const server = new grpc.Server();
  const calls = [];
  server.addService(gpssServiceDefinition(), { Connect: (call, cb) => (calls.push(call.request), cb(null, { ID: 'tls-session' })) });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(pki.ca, [{ cert_chain: pki.cert, private_key: pki.key }], true), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const attempt = async (endpointExtra) => {
    const c = new GpssClient({ host: '127.0.0.1', port, ...endpointExtra }, { deadlineMs: 5000 });
    try {
      return await c.connect(LOGIN);
    } finally {
      c.shutdown();
    }
  };
  try {
    assert.equal(await attempt({ tls: { ca: pki.ca, cert: pki.cert, key: pki.key } }), 'tls-session');
    assert.equal(calls.length, 1);
    // Plaintext, an unknown CA, or no client certificate: refused, and never a password leak.
    for (const extra of [{}, { tls: { ca: pki.otherCa, cert: pki.cert, key: pki.key } }, { tls: { ca: pki.ca } }]) {
      await assert.rejects(attempt(extra), (e) => e instanceof GpssError && e.code === grpc.status.UNAVAILABLE && !e.message.includes(LOGIN.password), JSON.stringify(Object.keys(extra.tls ?? {})));
    }
    assert.equal(calls.length, 1);
  } finally {
    server.forceShutdown();
  }
});
