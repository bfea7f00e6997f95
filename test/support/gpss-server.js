'use strict';
// Test fixture for gpss-pg: a real server on loopback over the test file's PostgreSQL
// database, a raw grpc-js client (so tests can send exactly the bytes and fields they want),
// and small helpers to build rows and inspect the database.
const path = require('node:path');
const { before, after } = require('node:test');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { Client } = require('pg');
const { startGpssServer } = require('../../dist/gpss-server');
const { encodeRow } = require('./row-oracle');

const PROTO = path.join(__dirname, '../../proto/gpss.proto');
const OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

/** DBValue builders. */
const V = {
  i32: (n) => ({ Int32Value: n }),
  i64: (s) => ({ Int64Value: String(s) }),
  f32: (n) => ({ Float32Value: n }),
  f64: (n) => ({ Float64Value: n }),
  s: (x) => ({ StringValue: x }),
  b: (buf) => ({ BytesValue: Buffer.from(buf) }),
  ts: (seconds, nanos = 0) => ({ TimeStampValue: { seconds: String(seconds), nanos } }),
  null: () => ({ NullValue: 0 }),
  none: () => ({}),
  other: (x) => ({ OtherValue: x }),
};

function rawClient(address, options = {}) {
  const def = protoLoader.loadSync(PROTO, OPTIONS);
  const Gpss = grpc.loadPackageDefinition(def).api.Gpss;
  return new Gpss(address, options.creds || grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1, ...options.channel });
}

/** Promise wrapper of one unary RPC on a raw client. Rejects with the grpc error (code, details). */
function rpc(client, method, request, deadlineMs = 60000) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/**
 * Registers before/after hooks: a gpss-pg over `pg` (from usePostgres) and a raw client.
 * Returns a handle whose fields are filled in `before`.
 */
function useGpssServer(pg, serverOptions = {}) {
  const h = {
    server: null,
    client: null,
    admin: null,
    logs: [],
    call: (method, request, deadlineMs) => rpc(h.client, method, request, deadlineMs),
    login: (extra = {}) => ({ Host: pg.host, Port: pg.port, Username: pg.user, Password: pg.password, DB: pg.database, ...extra }),
    async connect(extra = {}) {
      const s = await h.call('Connect', h.login(extra));
      return s.ID;
    },
    query: (sql, params) => h.admin.query(sql, params),
    async count(table) {
      const { rows } = await h.admin.query(`SELECT count(*)::int AS n FROM ${table}`);
      return rows[0].n;
    },
    /** Open → Write(s) → Close on `session`; `writes` is an array of arrays of DBValue rows. */
    async load(session, open, writes, close = {}) {
      await h.call('Open', { Session: { ID: session }, ...open });
      for (const rows of writes) await h.call('Write', { Session: { ID: session }, Rows: rows.map((r) => ({ Data: Buffer.isBuffer(r) ? r : encodeRow(r) })) });
      return h.call('Close', { session: { ID: session }, MaxErrorRows: -1, ...close });
    },
  };
  before(async () => {
    // Root-level before hooks of node:test (Node 20) start without waiting for each other:
    // wait for usePostgres() to have filled in its handle.
    for (let i = 0; !pg.url; i++) {
      if (i > 1200) throw new Error('usePostgres() did not provide a database within 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    h.server = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, log: (l) => h.logs.push(l), ...serverOptions });
    h.client = rawClient(h.server.address);
    h.admin = new Client({ connectionString: pg.url });
    await h.admin.connect();
  });
  after(async () => {
    if (h.client) grpc.Client.prototype.close.call(h.client);
    if (h.admin) await h.admin.end().catch(() => {});
    if (h.server) await h.server.stop();
  });
  return h;
}

/** Rows for WriteRequest: encodes DBValue arrays (Buffers pass through as raw bytes). */
function rowsOf(rows) {
  return rows.map((r) => ({ Data: Buffer.isBuffer(r) ? r : encodeRow(r) }));
}

module.exports = { useGpssServer, rawClient, rpc, rowsOf, V, encodeRow, status: grpc.status };
