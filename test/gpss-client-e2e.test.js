'use strict';
// The client library end to end: createRowEncoder → GpssClient → gpss-pg (real gRPC on
// loopback) → real PostgreSQL. Checks what PostgreSQL finally stores, as text, for every
// value mapping of DESIGN §3, and the Open/Write/Close lifecycle as the client drives it.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { usePostgres } = require('./support/pg');
const { startGpssServer } = require('../dist/gpss-server/index.js');
const { GpssClient, GpssError, createRowEncoder, isSessionLost } = require('../dist/gpss/index.js');

const pg = usePostgres();
let server;
let client;
let db;
let session;

// Inside a describe so that these hooks run after (and clean up before) the fixture's root hooks.
describe('gpss client library end to end through gpss-pg', () => {
  before(async () => {
    db = new Client({ connectionString: pg.url });
    await db.connect();
    await db.query(`CREATE TABLE public.vm (
      id int8 PRIMARY KEY, i4 int4, i2 int2, f8 float8, f4 real, txt text, num numeric(30,10), b bytea, ts timestamp(6),
      t time(6), flag boolean, tags int4[], j jsonb, tz timestamptz, d date)`);
    server = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url });
    client = new GpssClient({ host: server.host, port: server.port }, { deadlineMs: 20000 });
    session = await client.connect({ host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: pg.database, sessionTimeoutSec: 120 });
  });

  after(async () => {
    if (client && session) await client.disconnect(session).catch(() => {});
    if (client) client.shutdown();
    if (server) await server.stop();
    if (db) await db.end();
  });

  test('every value mapping lands in PostgreSQL with the exact value', async () => {
    const cols = await client.describeTable(session, 'public', 'vm');
    assert.deepStrictEqual(cols.map((c) => c.name), ['id', 'i4', 'i2', 'f8', 'f4', 'txt', 'num', 'b', 'ts', 't', 'flag', 'tags', 'j', 'tz', 'd']);
    const enc = createRowEncoder(cols);
    const rows = [
      {
        id: '9223372036854775807', i4: -2147483648, i2: 32767, f8: 0.1, f4: 0.5, txt: 'e\u0301 中文 😀 tab\there \\ nl\nend', num: '12345678901234567890.0123456789',
        b: Buffer.from([0, 1, 0x5c, 0xff]), ts: '1969-12-31 23:59:59.999999', t: '23:59:59.123456', flag: false, tags: [1, null, -3],
        j: { k: ['v', 1, null] }, tz: new Date(Date.UTC(2024, 1, 29, 12, 0, 0, 5)), d: new Date(Date.UTC(2024, 1, 29)),
      },
      { id: -9223372036854775808n, ts: undefined, f8: 'NaN', f4: '-Infinity', txt: '' },
      { id: 3, ts: 1700000000123, t: new Date(Date.UTC(2000, 0, 1, 1, 2, 3, 4)), flag: true, tz: 0, d: 86400000 },
    ];
    // Row 2's ts is year 1 (Date.UTC maps years 0..99 to 1900+, so build it from the offset).
    const y1 = new Date(0);
    y1.setUTCFullYear(1, 0, 1);
    rows[1].ts = y1;
    await client.open(session, { schema: 'public', table: 'vm', mode: 'insert' });
    await client.write(session, rows.map((r) => enc.encodeObject(r)));
    const stats = await client.close(session, { maxErrorRows: -1 });
    assert.deepStrictEqual(stats, { successCount: 3, errorCount: 0, errorRows: [] });

    const { rows: got } = await db.query(`SELECT id::text, i4::text, i2::text, f8::text, f4::text, txt, num::text, encode(b, 'hex') AS b,
      to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US') AS ts, t::text, flag::text, tags::text, j::text, (tz AT TIME ZONE 'UTC')::text AS tz, d::text
      FROM vm ORDER BY id`);
    assert.deepStrictEqual(got[0], {
      id: '-9223372036854775808', i4: null, i2: null, f8: 'NaN', f4: '-Infinity', txt: '', num: null, b: null,
      ts: '0001-01-01 00:00:00.000000', t: null, flag: null, tags: null, j: null, tz: null, d: null,
    });
    assert.deepStrictEqual(got[1], {
      id: '3', i4: null, i2: null, f8: null, f4: null, txt: null, num: null, b: null, ts: '2023-11-14 22:13:20.123000',
      t: '01:02:03.004', flag: 'true', tags: null, j: null, tz: '1970-01-01 00:00:00', d: '1970-01-02',
    });
    assert.deepStrictEqual(got[2], {
      id: '9223372036854775807', i4: '-2147483648', i2: '32767', f8: '0.1', f4: '0.5', txt: 'e\u0301 中文 😀 tab\there \\ nl\nend',
      num: '12345678901234567890.0123456789', b: '00015cff', ts: '1969-12-31 23:59:59.999999', t: '23:59:59.123456', flag: 'false',
      tags: '{1,NULL,-3}', j: '{"k": ["v", 1, null]}', tz: '2024-02-29 12:00:00.005', d: '2024-02-29',
    });
  });

  test('merge updates by key and inserts new keys; abort commits nothing; sessions survive Close', async () => {
    const enc = createRowEncoder(await client.describeTable(session, 'public', 'vm'));
    await client.open(session, { table: 'vm', mode: 'merge', matchColumns: ['id'], updateColumns: ['txt'] });
    await client.write(session, [enc.encodeObject({ id: 3, txt: 'updated' }), enc.encodeObject({ id: 4, txt: 'new' })]);
    assert.equal((await client.close(session)).successCount, 2);
    const { rows } = await db.query('SELECT id::text, txt FROM vm WHERE id IN (3, 4) ORDER BY id');
    assert.deepStrictEqual(rows, [{ id: '3', txt: 'updated' }, { id: '4', txt: 'new' }]);

    await client.open(session, { table: 'vm', mode: 'insert' });
    await client.write(session, [enc.encodeObject({ id: 100 })]);
    assert.deepStrictEqual(await client.close(session, { abort: true }), { successCount: 0, errorCount: 0, errorRows: [] });
    assert.equal((await db.query('SELECT count(*)::int AS n FROM vm WHERE id = 100')).rows[0].n, 0);
  });

  test('a constraint violation fails Close with a GpssError and nothing is committed', async () => {
    const enc = createRowEncoder(await client.describeTable(session, 'public', 'vm'));
    const before = (await db.query('SELECT count(*)::int AS n FROM vm')).rows[0].n;
    await client.open(session, { table: 'vm', mode: 'insert' });
    await client.write(session, [enc.encodeObject({ id: 200 }), enc.encodeObject({ id: 200 })]);
    await assert.rejects(client.close(session), (e) => e instanceof GpssError && e.rpc === 'Close' && e.code !== 0 && /duplicate key|23505/.test(e.message));
    assert.equal((await db.query('SELECT count(*)::int AS n FROM vm')).rows[0].n, before);
  });

  test('an unknown session is reported as lost; the password never appears in errors', async () => {
    await assert.rejects(client.listTables('no-such-session'), (e) => e instanceof GpssError && isSessionLost(e));
    const bad = new GpssClient({ host: server.host, port: server.port }, { deadlineMs: 20000 });
    try {
      await assert.rejects(
        bad.connect({ host: pg.host, port: pg.port, user: pg.user, password: 'wrong-Pa55word', database: pg.database }),
        (e) => e instanceof GpssError && e.rpc === 'Connect' && !e.message.includes('wrong-Pa55word'),
      );
    } finally {
      bad.shutdown();
    }
  });
});

// The same failures through gpss-pg's specific codes and through every error UNKNOWN with its
// text (as a real GPSS answers): the client must draw the same conclusion from both.
const { classifyError } = require('../dist/gpss/failure-class.js');

for (const errorCodes of ['specific', 'unknown']) {
  describe(`the client classifies gpss-pg's failures alike (errorCodes: ${errorCodes})`, () => {
    let srv;
    let c;
    let s;
    let admin;
    before(async () => {
      admin = new Client({ connectionString: pg.url });
      await admin.connect();
      await admin.query(`CREATE TABLE IF NOT EXISTS kc_${errorCodes} (k int4 PRIMARY KEY, v text NOT NULL)`);
      srv = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, errorCodes });
      c = new GpssClient({ host: srv.host, port: srv.port }, { deadlineMs: 20000 });
      s = await c.connect({ host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: pg.database });
    });
    after(async () => {
      if (c && s) await c.disconnect(s).catch(() => {});
      if (c) c.shutdown();
      if (srv) await srv.stop();
      if (admin) await admin.end();
    });

    const expectCode = (e) => (errorCodes === 'unknown' ? assert.equal(e.code, 2, `UNKNOWN expected: ${e.message}`) : assert.notEqual(e.code, 2));
    const failure = async (promise) => {
      let err;
      await promise.then(() => assert.fail('expected a failure'), (e) => (err = e));
      assert.ok(err instanceof GpssError, String(err));
      expectCode(err);
      return { err, ...classifyError(err) };
    };

    test('unknown session → session (retry on a new one); missing table → config with a hint; bad login → config', async () => {
      const lost = await failure(c.listTables('no-such-session'));
      assert.equal(lost.cause, 'session');
      assert.equal(isSessionLost(lost.err), true);
      const missing = await failure(c.open(s, { table: `KC_${errorCodes}`, mode: 'insert' }));
      assert.deepEqual([missing.kind, missing.cause], ['fatal', 'config']);
      assert.match(missing.err.message, new RegExp(`did you mean "public"\\."kc_${errorCodes}"`));
      const bad = new GpssClient({ host: srv.host, port: srv.port }, { deadlineMs: 20000 });
      try {
        const login = await failure(bad.connect({ host: pg.host, port: pg.port, user: pg.user, password: 'wrong-Pa55word', database: pg.database }));
        assert.equal(login.kind, 'fatal');
      } finally {
        bad.shutdown();
      }
    });

    test('NOT NULL and duplicate keys → data (bisect, no retry); a second Open → session', async () => {
      const table = `kc_${errorCodes}`;
      const enc = createRowEncoder(await c.describeTable(s, 'public', table));
      await c.open(s, { table, mode: 'insert' });
      const again = await failure(c.open(s, { table, mode: 'insert' }));
      assert.equal(again.cause, 'session');
      // Rows stream into COPY: PostgreSQL's verdict arrives at this Write, a later one, or the Close.
      await c.write(s, [enc.encodeObject({ k: 1 })]).catch(() => {});
      const notNull = await failure(c.close(s));
      assert.deepEqual([notNull.kind, notNull.cause], ['data', 'data']);
      if (errorCodes === 'unknown') assert.match(notNull.err.details, /pq: null value in column "v"/, 'lib/pq style text');
      await c.open(s, { table, mode: 'insert' });
      await c.write(s, [enc.encodeObject({ k: 2, v: 'a' }), enc.encodeObject({ k: 2, v: 'b' })]).catch(() => {});
      const dup = await failure(c.close(s));
      assert.equal(dup.kind, 'data');
      assert.match(dup.err.message, /duplicate key/);
    });
  });
}
