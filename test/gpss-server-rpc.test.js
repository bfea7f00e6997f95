'use strict';
// gpss-pg's eight RPCs over real gRPC on loopback against a real PostgreSQL: each success
// path and each error path of spec §13 (status codes and what is committed).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const { useGpssServer, rawClient, rpc, rowsOf, V, status } = require('./support/gpss-server');
const { startGpssServer } = require('../dist/gpss-server');
const grpc = require('@grpc/grpc-js');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const pg = usePostgres();
const g = useGpssServer(pg);

async function rejects(promise, code, pattern) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.code, code, `expected ${status[code] ?? code}, got ${err.code}: ${err.details}`);
    if (pattern) assert.match(err.details, pattern);
    return true;
  });
}

const S = (ID) => ({ Session: { ID } });

test('Connect returns an unguessable session id; missing fields are INVALID_ARGUMENT', async () => {
  const a = await g.connect();
  const b = await g.connect();
  assert.match(a, /^[0-9a-f-]{36}$/);
  assert.notEqual(a, b);
  await rejects(g.call('Connect', g.login({ Host: '' })), status.INVALID_ARGUMENT, /Host/);
  await rejects(g.call('Connect', g.login({ DB: '' })), status.INVALID_ARGUMENT, /DB/);
  await rejects(g.call('Connect', g.login({ Username: '' })), status.INVALID_ARGUMENT, /Username/);
  await g.call('Disconnect', { ID: a });
  await g.call('Disconnect', { ID: b });
});

test('Connect authenticates with the request credentials: a wrong password is UNAUTHENTICATED and not echoed', async () => {
  const secret = 'wrong-Secret-123';
  await rejects(g.call('Connect', g.login({ Password: secret })), status.UNAUTHENTICATED, /password authentication failed/);
  await assert.rejects(g.call('Connect', g.login({ Password: secret })), (err) => !err.details.includes(secret));
  assert.ok(!g.logs.join('\n').includes(secret));
  await rejects(g.call('Connect', g.login({ DB: 'no_such_db_x' })), status.NOT_FOUND, /does not exist/);
});

test('Connect to a host that is not allowed is PERMISSION_DENIED; an unreachable allowed host is UNAVAILABLE', async () => {
  await rejects(g.call('Connect', g.login({ Host: '10.255.255.1' })), status.PERMISSION_DENIED, /not allowed/);
  await rejects(g.call('Connect', g.login({ Port: pg.port + 1 })), status.PERMISSION_DENIED, /not allowed/);
  const other = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, allowHosts: [`${pg.host}:${pg.port}`, '127.0.0.1:1'] });
  const c = rawClient(other.address);
  try {
    await rejects(rpc(c, 'Connect', g.login({ Host: '127.0.0.1', Port: 1 })), status.UNAVAILABLE, /cannot reach/);
  } finally {
    grpc.Client.prototype.close.call(c);
    await other.stop();
  }
});

test('more sessions than --max-sessions is RESOURCE_EXHAUSTED; Disconnect frees a slot', async () => {
  const small = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, maxSessions: 2 });
  const c = rawClient(small.address);
  try {
    const a = await rpc(c, 'Connect', g.login());
    await rpc(c, 'Connect', g.login());
    await rejects(rpc(c, 'Connect', g.login()), status.RESOURCE_EXHAUSTED, /too many sessions/);
    assert.equal(small.activeSessions(), 2);
    await rpc(c, 'Disconnect', a);
    await rpc(c, 'Connect', g.login());
  } finally {
    grpc.Client.prototype.close.call(c);
    await small.stop();
  }
});

test('unknown or empty sessions are NOT_FOUND on every RPC', async () => {
  const ghost = '00000000-0000-4000-8000-000000000000';
  await rejects(g.call('Disconnect', { ID: ghost }), status.NOT_FOUND);
  await rejects(g.call('ListSchema', S(ghost)), status.NOT_FOUND);
  await rejects(g.call('ListTable', S('')), status.NOT_FOUND, /no session/);
  await rejects(g.call('DescribeTable', { ...S(ghost), TableName: 'x' }), status.NOT_FOUND);
  await rejects(g.call('Open', { ...S(ghost), TableName: 'x' }), status.NOT_FOUND);
  await rejects(g.call('Write', { ...S(ghost), Rows: [] }), status.NOT_FOUND);
  // CloseRequest's field 1 is lower-case `session`; `Session` is dropped (spec §8)
  await rejects(g.call('Close', { Session: { ID: ghost } }), status.NOT_FOUND, /no session/);
  await rejects(g.call('Close', { session: { ID: ghost } }), status.NOT_FOUND);
});

test('ListSchema, ListTable and DescribeTable describe the catalog', async () => {
  await g.query(`CREATE SCHEMA meta;
    CREATE TABLE meta.t (id int4 NOT NULL, name varchar(20), code char(3), note text, amount numeric(12,3), n numeric, blob bytea, at timestamptz, tags text[]);
    CREATE VIEW meta.v AS SELECT id FROM meta.t; CREATE SEQUENCE meta.s; CREATE INDEX t_idx ON meta.t (id)`);
  const s = await g.connect();
  const { Schemas } = await g.call('ListSchema', S(s));
  const names = Schemas.map((x) => x.Name);
  assert.ok(names.includes('meta') && names.includes('public'));
  assert.deepEqual(names, [...names].sort());
  assert.ok(!names.some((n) => n.startsWith('pg_toast') || n.startsWith('pg_temp_')));
  assert.equal(Schemas.find((x) => x.Name === 'meta').Owner, pg.user);
  const { Tables } = await g.call('ListTable', { ...S(s), Schema: 'meta' });
  assert.deepEqual(Tables.map((t) => [t.Name, t.Type]), [['s', 'Sequence'], ['t', 'Table'], ['t_idx', 'Index'], ['v', 'View']]);
  assert.deepEqual((await g.call('ListTable', { ...S(s), Schema: 'nope' })).Tables, []);
  const { Columns } = await g.call('DescribeTable', { ...S(s), SchemaName: 'meta', TableName: 't' });
  const row = (c) => [c.Name, c.DatabaseType, c.HasLength, c.Length, c.HasPrecisionScale, c.Precision, c.Scale, c.HasNullable, c.Nullable];
  assert.deepEqual(Columns.map(row), [
    ['id', 'INT4', false, '0', false, '0', '0', true, false],
    ['name', 'VARCHAR', true, '20', false, '0', '0', true, true],
    ['code', 'BPCHAR', true, '3', false, '0', '0', true, true],
    ['note', 'TEXT', true, '9223372036854775807', false, '0', '0', true, true],
    ['amount', 'NUMERIC', false, '0', true, '12', '3', true, true],
    ['n', 'NUMERIC', false, '0', false, '0', '0', true, true],
    ['blob', 'BYTEA', true, '9223372036854775807', false, '0', '0', true, true],
    ['at', 'TIMESTAMPTZ', false, '0', false, '0', '0', true, true],
    ['tags', '_TEXT', false, '0', false, '0', '0', true, true],
  ]);
  await rejects(g.call('DescribeTable', { ...S(s), TableName: 'missing' }), status.NOT_FOUND, /does not exist/);
  await g.call('Disconnect', { ID: s });
});

test('Open → Write → Close commits; a session stays usable for a second cycle', async () => {
  await g.query('CREATE TABLE cyc (id int8, label text)');
  const s = await g.connect();
  let st = await g.load(s, { TableName: 'cyc' }, [[[V.i64(1), V.s('a')], [V.i64(2), V.s('b')]], [[V.i64(3), V.s('c')]]]);
  assert.deepEqual([st.SuccessCount, st.ErrorCount, st.ErrorRows], ['3', '0', []]);
  st = await g.load(s, { TableName: 'cyc', InsertOption: { InsertColumns: ['id'] } }, [[[V.i64(4)]]]);
  assert.equal(st.SuccessCount, '1');
  const { rows } = await g.query('SELECT id::int, label FROM cyc ORDER BY id');
  assert.deepEqual(rows, [{ id: 1, label: 'a' }, { id: 2, label: 'b' }, { id: 3, label: 'c' }, { id: 4, label: null }]);
  await g.call('Disconnect', { ID: s });
});

test('rows are invisible before Close; Close with Abort rolls back and returns zeros', async () => {
  await g.query('CREATE TABLE ab (id int)');
  const s = await g.connect();
  await g.call('Open', { ...S(s), TableName: 'ab' });
  await g.call('Write', { ...S(s), Rows: rowsOf(Array.from({ length: 2000 }, (_, i) => [V.i32(i)])) });
  assert.equal(await g.count('ab'), 0);
  const st = await g.call('Close', { session: { ID: s }, Abort: true, MaxErrorRows: -1 });
  assert.deepEqual([st.SuccessCount, st.ErrorCount], ['0', '0']);
  assert.equal(await g.count('ab'), 0);
  await g.call('Disconnect', { ID: s });
});

test('a second Open, Write or Close without Open are FAILED_PRECONDITION; the first load is unharmed', async () => {
  await g.query('CREATE TABLE pre (id int)');
  const s = await g.connect();
  await rejects(g.call('Write', { ...S(s), Rows: rowsOf([[V.i32(1)]]) }), status.FAILED_PRECONDITION, /no table is open/);
  await rejects(g.call('Close', { session: { ID: s } }), status.FAILED_PRECONDITION, /no table is open/);
  await g.call('Open', { ...S(s), TableName: 'pre' });
  await g.call('Write', { ...S(s), Rows: rowsOf([[V.i32(1)]]) });
  await rejects(g.call('Open', { ...S(s), TableName: 'pre' }), status.FAILED_PRECONDITION, /already open/);
  await g.call('Write', { ...S(s), Rows: rowsOf([[V.i32(2)]]) });
  const st = await g.call('Close', { session: { ID: s } });
  assert.equal(st.SuccessCount, '2');
  assert.equal(await g.count('pre'), 2);
  await g.call('Disconnect', { ID: s });
});

test('Open errors: unknown table NOT_FOUND, bad options INVALID_ARGUMENT, other formats UNIMPLEMENTED, PreSQL error ABORTED; nothing stays open', async () => {
  await g.query('CREATE TABLE oe (k int, v text)');
  const s = await g.connect();
  await rejects(g.call('Open', { ...S(s), TableName: 'nope' }), status.NOT_FOUND, /does not exist/);
  await rejects(g.call('Open', { ...S(s), TableName: 'oe', InsertOption: { ErrorLimitCount: -1 } }), status.INVALID_ARGUMENT, /ErrorLimitCount/);
  await rejects(g.call('Open', { ...S(s), TableName: 'oe', InsertOption: { ErrorLimitPercentage: 101 } }), status.INVALID_ARGUMENT, /ErrorLimitPercentage/);
  await rejects(g.call('Open', { ...S(s), TableName: 'oe', InsertOption: { InsertColumns: ['zz'] } }), status.INVALID_ARGUMENT, /InsertColumns: column "zz"/);
  await rejects(g.call('Open', { ...S(s), TableName: 'oe', UpdateOption: { MatchColumns: [], UpdateColumns: ['v'] } }), status.INVALID_ARGUMENT, /MatchColumns must not be empty/);
  await rejects(g.call('Open', { ...S(s), TableName: 'oe', MergeOption: { MatchColumns: ['k'], UpdateColumns: [] } }), status.INVALID_ARGUMENT, /UpdateColumns must not be empty/);
  await rejects(g.call('Open', { ...S(s), TableName: 'oe', json: { column: { name: 'j', type: 'json' } } }), status.UNIMPLEMENTED, /json/);
  await rejects(g.call('Open', { ...S(s), TableName: 'oe', avro: {} }), status.UNIMPLEMENTED, /avro/);
  await rejects(g.call('Open', { ...S(s), TableName: 'oe', PreSQL: 'CREATE TABLE side (x int); SELECT 1/0' }), status.ABORTED, /PreSQL failed: ERROR 22012: division by zero/);
  const side = await g.query(`SELECT to_regclass('side') AS r`);
  assert.equal(side.rows[0].r, null);
  // the session is clean: a normal load works
  const st = await g.load(s, { TableName: 'oe' }, [[[V.i32(1), V.s('x')]]]);
  assert.equal(st.SuccessCount, '1');
  await g.call('Disconnect', { ID: s });
});

test('a failed Write rolls back: later Writes are FAILED_PRECONDITION, Close is ABORTED, Close{Abort} is OK with zeros', async () => {
  await g.query('CREATE TABLE fw (id int)');
  const s = await g.connect();
  for (const abort of [false, true]) {
    await g.call('Open', { ...S(s), TableName: 'fw' });
    await g.call('Write', { ...S(s), Rows: rowsOf([[V.i32(1)], [V.i32(2)]]) });
    await rejects(g.call('Write', { ...S(s), Rows: [{ Data: Buffer.from([0xff, 0xff]) }] }), status.INVALID_ARGUMENT, /row 3/);
    await rejects(g.call('Write', { ...S(s), Rows: rowsOf([[V.i32(3)]]) }), status.FAILED_PRECONDITION, /failed earlier/);
    if (abort) {
      const st = await g.call('Close', { session: { ID: s }, Abort: true });
      assert.deepEqual([st.SuccessCount, st.ErrorCount], ['0', '0']);
    } else {
      await rejects(g.call('Close', { session: { ID: s } }), status.ABORTED, /failed earlier/);
    }
    assert.equal(await g.count('fw'), 0);
  }
  await rejects(g.call('Close', { session: { ID: s } }), status.FAILED_PRECONDITION);
  await g.call('Disconnect', { ID: s });
});

test('Disconnect with an open table rolls it back', async () => {
  await g.query('CREATE TABLE dc (id int)');
  const s = await g.connect();
  await g.call('Open', { ...S(s), TableName: 'dc' });
  await g.call('Write', { ...S(s), Rows: rowsOf(Array.from({ length: 5000 }, (_, i) => [V.i32(i)])) });
  await g.call('Disconnect', { ID: s });
  assert.equal(await g.count('dc'), 0);
  await rejects(g.call('Close', { session: { ID: s } }), status.NOT_FOUND);
  const { rows } = await g.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'gpss-pg' AND datname = current_database() AND state <> 'idle'`);
  assert.equal(rows[0].n, 0);
});

test('a failed Write, Close{Abort} and Disconnect each end a COPY that is in flight; the session stays usable', async () => {
  await g.query('CREATE TABLE inflight (id int, v text)');
  const s = await g.connect();
  // ~400 KB of COPY text: the COPY is running when the next call arrives
  const many = rowsOf(Array.from({ length: 20000 }, (_, i) => [V.i32(i), V.s('some text ' + i)]));
  await g.call('Open', { ...S(s), TableName: 'inflight' });
  await g.call('Write', { ...S(s), Rows: many });
  await rejects(g.call('Write', { ...S(s), Rows: [{ Data: Buffer.from([0xff]) }] }), status.INVALID_ARGUMENT);
  await g.call('Close', { session: { ID: s }, Abort: true });
  await g.call('Open', { ...S(s), TableName: 'inflight' });
  await g.call('Write', { ...S(s), Rows: many });
  assert.deepEqual(await g.call('Close', { session: { ID: s }, Abort: true }), { SuccessCount: '0', ErrorCount: '0', ErrorRows: [] });
  await g.call('Open', { ...S(s), TableName: 'inflight' });
  await g.call('Write', { ...S(s), Rows: many });
  assert.equal((await g.call('Close', { session: { ID: s } })).SuccessCount, '20000');
  await g.call('Open', { ...S(s), TableName: 'inflight' });
  await g.call('Write', { ...S(s), Rows: many });
  await g.call('Disconnect', { ID: s });
  assert.equal(await g.count('inflight'), 20000);
});

test('SessionTimeout expires an idle session and rolls back its open load; activity keeps it alive', async () => {
  await g.query('CREATE TABLE idle (id int)');
  const live = await g.connect({ SessionTimeout: 1 });
  const s = await g.connect({ SessionTimeout: 1 });
  await g.call('Open', { ...S(s), TableName: 'idle' });
  await g.call('Write', { ...S(s), Rows: rowsOf([[V.i32(1)]]) });
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 400));
    await g.call('ListSchema', S(live));
  }
  await rejects(g.call('Close', { session: { ID: s } }), status.NOT_FOUND, /expired|does not exist/);
  assert.equal(await g.count('idle'), 0);
  assert.ok(g.logs.some((l) => l.includes('expired after 1 s idle')));
  await g.call('Disconnect', { ID: live });
});

test('calls on one session are strictly ordered: concurrent Writes queue in arrival order', async () => {
  await g.query('CREATE TABLE ord (id int, seq serial)');
  const s = await g.connect();
  await g.call('Open', { ...S(s), TableName: 'ord', InsertOption: { InsertColumns: ['id'] } });
  const writes = [];
  for (let w = 0; w < 20; w++) writes.push(g.call('Write', { ...S(s), Rows: rowsOf(Array.from({ length: 50 }, (_, i) => [V.i32(w * 50 + i)])) }));
  await Promise.all(writes);
  await g.call('Close', { session: { ID: s } });
  const { rows } = await g.query('SELECT bool_and(id + 1 = seq) AS ordered, count(*)::int AS n FROM ord');
  assert.deepEqual(rows[0], { ordered: true, n: 1000 });
  await g.call('Disconnect', { ID: s });
});

test('ListTable and DescribeTable work while a load is open on the same session, which still commits', async () => {
  await g.query('CREATE TABLE mid (id int)');
  const s = await g.connect();
  await g.call('Open', { ...S(s), TableName: 'mid' });
  await g.call('Write', { ...S(s), Rows: rowsOf(Array.from({ length: 30000 }, (_, i) => [V.i32(i)])) });
  const { Columns } = await g.call('DescribeTable', { ...S(s), TableName: 'mid' });
  assert.equal(Columns[0].Name, 'id');
  await g.call('Write', { ...S(s), Rows: rowsOf([[V.i32(-1)]]) });
  const st = await g.call('Close', { session: { ID: s } });
  assert.equal(st.SuccessCount, '30001');
  assert.equal(await g.count('mid'), 30001);
  await g.call('Disconnect', { ID: s });
});

test('csv and delimited formats carry one raw line per RowData', async () => {
  await g.query('CREATE TABLE raw (id int, name text, d date)');
  const s = await g.connect();
  const line = (t) => ({ Data: Buffer.from(t) });
  await g.call('Open', { ...S(s), TableName: 'raw', csv: { delimiter: ';', header: true }, InsertOption: { ErrorLimitCount: 5 } });
  await g.call('Write', { ...S(s), Rows: [line('id;name;d'), line('1;"semi;colon";2024-01-01'), line('2;"multi\nline";2024-01-02\n'), line('3;x;not-a-date'), line('4;;')] });
  let st = await g.call('Close', { session: { ID: s }, MaxErrorRows: -1 });
  assert.deepEqual([st.SuccessCount, st.ErrorCount], ['3', '1']);
  assert.match(st.ErrorRows[0], /^row 3: column "d": .*invalid input syntax for type date/);
  await g.call('Open', { ...S(s), TableName: 'raw', delimited: { delimiter: '|' } });
  await g.call('Write', { ...S(s), Rows: [line('5|pipe|2024-02-02'), line('6|\\N|\\N')] });
  st = await g.call('Close', { session: { ID: s } });
  assert.equal(st.SuccessCount, '2');
  const { rows } = await g.query(`SELECT id, name, to_char(d, 'YYYY-MM-DD') AS d FROM raw ORDER BY id`);
  assert.deepEqual(rows, [
    { id: 1, name: 'semi;colon', d: '2024-01-01' },
    { id: 2, name: 'multi\nline', d: '2024-01-02' },
    { id: 4, name: null, d: null },
    { id: 5, name: 'pipe', d: '2024-02-02' },
    { id: 6, name: null, d: null },
  ]);
  await g.call('Disconnect', { ID: s });
});

test('TLS on the listener: a client trusting the certificate works, a plaintext client does not', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpss-tls-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    const srv = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, tls: { cert: fs.readFileSync(cert), key: fs.readFileSync(key) } });
    const tls = rawClient(srv.address, { creds: grpc.credentials.createSsl(fs.readFileSync(cert)), channel: { 'grpc.ssl_target_name_override': 'localhost' } });
    const plain = rawClient(srv.address);
    try {
      const { ID } = await rpc(tls, 'Connect', g.login());
      assert.ok((await rpc(tls, 'ListSchema', S(ID))).Schemas.length > 0);
      await assert.rejects(rpc(plain, 'Connect', g.login(), 3000), (e) => e.code === status.UNAVAILABLE || e.code === status.DEADLINE_EXCEEDED);
      await rpc(tls, 'Disconnect', { ID });
    } finally {
      grpc.Client.prototype.close.call(tls);
      grpc.Client.prototype.close.call(plain);
      await srv.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('stop() rolls back open loads and refuses further calls', async () => {
  await g.query('CREATE TABLE stopme (id int)');
  const srv = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url });
  const c = rawClient(srv.address);
  try {
    const { ID } = await rpc(c, 'Connect', g.login());
    await rpc(c, 'Open', { ...S(ID), TableName: 'stopme' });
    await rpc(c, 'Write', { ...S(ID), Rows: rowsOf(Array.from({ length: 1000 }, (_, i) => [V.i32(i)])) });
    await srv.stop();
    assert.equal(srv.activeSessions(), 0);
    await assert.rejects(rpc(c, 'ListSchema', S(ID), 2000));
    assert.equal(await g.count('stopme'), 0);
  } finally {
    grpc.Client.prototype.close.call(c);
    await srv.stop();
  }
});

test('our GpssClient and row encoder drive every RPC against gpss-pg (shared contract)', async () => {
  const { GpssClient, GpssError } = require('../dist/gpss/client');
  const { createRowEncoder } = require('../dist/gpss/value-mapping');
  await g.query(`CREATE TABLE contract (id bigint PRIMARY KEY, at timestamp, label text, amount numeric(10,2), ok boolean, blob bytea);
    INSERT INTO contract VALUES (1, '2020-01-01', 'old', 1, false, NULL)`);
  const client = new GpssClient({ host: '127.0.0.1', port: g.server.port }, { deadlineMs: 30000 });
  try {
    const session = await client.connect({ host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: pg.database, sessionTimeoutSec: 60 });
    assert.ok((await client.listSchemas(session)).some((s) => s.name === 'public'));
    assert.ok((await client.listTables(session)).some((t) => t.name === 'contract' && t.type === 'Table'));
    const columns = await client.describeTable(session, 'public', 'contract');
    assert.deepEqual(columns.map((c) => [c.name, c.databaseType, c.nullable]), [['id', 'INT8', false], ['at', 'TIMESTAMP', true], ['label', 'TEXT', true], ['amount', 'NUMERIC', true], ['ok', 'BOOL', true], ['blob', 'BYTEA', true]]);
    const encoder = createRowEncoder(columns);
    await client.open(session, { table: 'contract', mode: 'merge', matchColumns: ['id'], updateColumns: ['label', 'amount', 'at'], errorLimitCount: 5 });
    await client.write(session, [
      encoder.encodeObject({ id: 1, at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), label: 'new', amount: '12.34', ok: true }),
      encoder.encodeObject({ id: '9007199254740993', label: 'big id', blob: Buffer.from([1, 2]) }),
      encoder.encodeArray([3, null, 'bad amount', 'abc', null, null]),
    ]);
    const stats = await client.close(session, { maxErrorRows: -1 });
    assert.equal(stats.successCount, 2);
    assert.equal(stats.errorCount, 1);
    assert.match(stats.errorRows[0], /^row 3: column "amount": invalid input syntax for type numeric: "abc"/);
    const { rows } = await g.query(`SELECT id::text, to_char(at, 'YYYY-MM-DD HH24:MI:SS.MS') AS at, label, amount::text, ok, encode(blob, 'hex') AS blob FROM contract ORDER BY id`);
    assert.deepEqual(rows, [
      { id: '1', at: '2026-01-02 03:04:05.678', label: 'new', amount: '12.34', ok: false, blob: null },
      { id: '9007199254740993', at: null, label: 'big id', amount: null, ok: null, blob: '0102' },
    ]);
    await assert.rejects(client.open(session, { table: 'missing', mode: 'insert' }), (e) => e instanceof GpssError && e.code === status.NOT_FOUND);
    await client.disconnect(session);
    await assert.rejects(client.listSchemas(session), (e) => e instanceof GpssError && e.code === status.NOT_FOUND);
  } finally {
    client.shutdown();
  }
});

test('Disconnect ends a session whose call is stuck behind a lock, rolling it back', async () => {
  await g.query('CREATE TABLE locked (id int, v text)');
  const holder = new (require('pg').Client)({ connectionString: pg.url });
  await holder.connect();
  try {
    await holder.query('BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');
    const s = await g.connect();
    await g.call('Open', { ...S(s), TableName: 'locked' });
    // ~300 KB: the COPY starts and waits for the lock
    await g.call('Write', { ...S(s), Rows: rowsOf(Array.from({ length: 10000 }, (_, i) => [V.i32(i), V.s('row ' + i + ' padding text')])) });
    await rejects(g.call('Close', { session: { ID: s } }, 1000), status.DEADLINE_EXCEEDED);
    const t = Date.now();
    await g.call('Disconnect', { ID: s }, 20000);
    assert.ok(Date.now() - t < 15000);
    assert.ok(g.logs.some((l) => l.includes('Disconnect waited')));
    await rejects(g.call('ListSchema', S(s)), status.NOT_FOUND);
    await holder.query('COMMIT');
    assert.equal(await g.count('locked'), 0);
  } finally {
    await holder.query('ROLLBACK').catch(() => {});
    await holder.end();
  }
});

test('calls queued behind a Disconnect find the session gone (NOT_FOUND), not a closed connection', async () => {
  await g.query('CREATE TABLE queued (id int)');
  const s = await g.connect();
  await g.call('Open', { ...S(s), TableName: 'queued' });
  // Small messages, so that they reach the server in the order they were sent (a large one
  // is handed to its handler only when all of it has arrived).
  const write = g.call('Write', { ...S(s), Rows: rowsOf([[V.i32(1)], [V.i32(2)]]) });
  const disconnect = g.call('Disconnect', { ID: s });
  // Whether it waited in the queue or arrived after the Disconnect, it is NOT_FOUND.
  const late = rejects(g.call('ListTable', S(s)), status.NOT_FOUND, /closed .*while this call waited|does not exist/);
  await write;
  await disconnect;
  await late;
  assert.equal(await g.count('queued'), 0);
});
