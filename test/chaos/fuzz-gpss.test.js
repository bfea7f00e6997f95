'use strict';
// Fuzz: at least 10,000 mutated and random protobuf requests over all eight RPCs of gpss-pg
// (its own process, over a real PostgreSQL). Requests are raw bytes (a grpc-js client whose
// serializer is the identity): valid requests built with protobufjs from proto/gpss.proto, many
// naming a live session, then mutated (bit flips, truncation, random splices, duplicated or
// garbage fields, rows holding mutated Row bytes), plus pure random bytes.
// Expected: the process never exits, every call ends with a gRPC status (OK or an error code
// other than UNAVAILABLE, which would mean the server went away), and a normal load succeeds
// afterwards. CHAOS_SEED=<n> replays a run.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protobuf = require('protobufjs');
const C = require('./support');
const { rawClient, rpc, V, encodeRow } = require('../support/gpss-server');
const { freePort } = require('../../dist/devstack/postgres');

const REQUESTS = Number(process.env.CHAOS_FUZZ_REQUESTS) || 10000;
const IN_FLIGHT = 16;
const root = protobuf.loadSync(path.join(C.REPO, 'proto', 'gpss.proto'));
const T = (name) => root.lookupType(`api.${name}`);
const METHODS = {
  Connect: 'ConnectRequest',
  Disconnect: 'Session',
  Open: 'OpenRequest',
  Write: 'WriteRequest',
  Close: 'CloseRequest',
  ListSchema: 'ListSchemaRequest',
  ListTable: 'ListTableRequest',
  DescribeTable: 'DescribeTableRequest',
};

let pg = null;
let server = null;

before(async () => {
  pg = await C.ownCluster();
  await C.query(pg.url, 'CREATE TABLE fz (id int4, t text, f float8, ts timestamp, b bytea, n numeric(10,2))');
  const port = await freePort();
  // The login backoff is off here: the fuzzer's mutated Connects (wrong credentials) and its
  // valid ones share 127.0.0.1, so the backoff (proven in gpss-server-auth.test.js) would only
  // queue the fuzzer's own valid logins behind its failures and starve the deep paths.
  server = await C.startGpssProcess({ databaseUrl: pg.url, port, logFile: path.join(C.artifactDir('fuzz-gpss'), 'gpss-pg.log'), extraArgs: ['--login-backoff-max-ms', '0'] });
});
after(async () => {
  if (server) {
    server.kill('SIGTERM');
    await server.exited;
  }
  if (pg) pg.stop();
});

function rawMethodClient(address) {
  const identity = (b) => b;
  const def = {};
  for (const m of Object.keys(METHODS)) {
    def[m] = { path: `/api.Gpss/${m}`, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
  }
  const Ctor = grpc.makeGenericClientConstructor(def, 'FuzzGpss');
  return new Ctor(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
}

function generator(random, sessions, login) {
  const int = (n) => Math.floor(random() * n);
  const pick = (a) => a[int(a.length)];
  const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const strs = ['', 'fz', 'public', 'pg_catalog', 'nope', 'id', 't', 'f', 'ts', 'b', 'n', 'id,t', '"fz"', 'fz; DROP TABLE fz', "'", '\u0000', 'x'.repeat(5000), '日本', 'id = 1', 'f > 0'];
  const str = () => (random() < 0.8 ? pick(strs) : bytes(int(40)).toString('latin1'));
  const session = () => ({ ID: random() < 0.7 && sessions.length ? pick(sessions) : str() });
  const value = () => {
    switch (int(10)) {
      case 0: return V.i32(int(2 ** 32) - 2 ** 31);
      case 1: return V.i64(String(BigInt(int(2 ** 53)) * (random() < 0.5 ? -1n : 1n) * BigInt(int(1000) + 1)));
      case 2: return V.f32(random() * 1e6);
      case 3: return V.f64(pick([NaN, Infinity, -Infinity, 0, -0, 1e308, random()]));
      case 4: return V.s(str());
      case 5: return V.b(bytes(int(30)));
      case 6: return V.ts(pick([0, -1, 2 ** 40, -(2 ** 40), int(2 ** 31)]), pick([0, -1, 999999999, 1e9, int(1e9)]));
      case 7: return V.null();
      case 8: return V.none();
      default: return V.other(str());
    }
  };
  const row = () => {
    let good;
    try {
      good = encodeRow(Array.from({ length: int(8) }, value));
    } catch {
      good = bytes(int(40)); // a value our own encoder refuses: send noise instead
    }
    return random() < 0.7 ? good : mutate(good);
  };
  // A row shaped like table fz (int4, text, float8, timestamp, bytea, numeric), values often
  // edge cases or of the wrong kind, the encoding mutated now and then.
  const tableRow = () => {
    const vals = [
      random() < 0.97 ? V.i32(int(2 ** 32) - 2 ** 31) : value(),
      random() < 0.97 ? V.s(str()) : value(),
      random() < 0.97 ? V.f64(pick([NaN, Infinity, 0, -0, 1e308, random()])) : value(),
      random() < 0.97 ? V.ts(pick([0, -1, 2 ** 33, int(2 ** 31)]), pick([0, 999999999, int(1e9)])) : value(),
      random() < 0.97 ? V.b(bytes(int(30))) : value(),
      random() < 0.8 ? V.s(pick(['1.5', '-0.01', '999999.99', '1e3', 'NaN', 'abc', ''])) : value(),
    ];
    let buf;
    try {
      buf = encodeRow(random() < 0.05 ? vals.slice(0, int(6)) : vals);
    } catch {
      buf = bytes(int(40));
    }
    return random() < 0.03 ? mutate(buf) : buf;
  };
  const requests = {
    Connect: () => (random() < 0.5 ? { ...login, ...(random() < 0.5 ? { DB: str() } : {}), SessionTimeout: int(5) } : { Host: str(), Port: int(70000), Username: str(), Password: str(), DB: str(), UseSSL: random() < 0.5, SessionTimeout: int(100) - 10 }),
    Disconnect: () => session(),
    Open: () => {
      const r = { Session: session(), SchemaName: pick(['', 'public', str()]), TableName: pick(['fz', 'fz', str()]), PreSQL: random() < 0.1 ? str() : '', PostSQL: random() < 0.1 ? str() : '', Timeout: int(10), Encoding: random() < 0.1 ? str() : '', StagingSchema: random() < 0.1 ? str() : '' };
      const opt = { InsertColumns: random() < 0.3 ? [str()] : [], MatchColumns: [pick(['id', str()])], UpdateColumns: [pick(['t', str()])], Condition: random() < 0.2 ? str() : '', ErrorLimitCount: int(5), ErrorLimitPercentage: int(120) - 10 };
      const which = int(4);
      if (which === 0) r.InsertOption = { InsertColumns: opt.InsertColumns, TruncateTable: random() < 0.2, ErrorLimitCount: opt.ErrorLimitCount, ErrorLimitPercentage: opt.ErrorLimitPercentage };
      else if (which === 1) r.UpdateOption = opt;
      else if (which === 2) r.MergeOption = opt;
      return r;
    },
    Write: () => ({ Session: session(), Rows: Array.from({ length: int(20) }, () => ({ Data: row() })) }),
    Close: () => ({ session: session(), MaxErrorRows: int(10) - 2, Abort: random() < 0.3 }),
    ListSchema: () => ({ Session: session() }),
    ListTable: () => ({ Session: session(), Schema: pick(['', 'public', str()]) }),
    DescribeTable: () => ({ Session: session(), SchemaName: pick(['', 'public', str()]), TableName: pick(['fz', str()]) }),
  };
  function mutate(buf) {
    const b = Buffer.from(buf);
    switch (int(6)) {
      case 0: // bit flips
        for (let k = 0; k < 1 + int(4) && b.length; k++) b[int(b.length)] ^= 1 << int(8);
        return b;
      case 1: // truncation
        return b.subarray(0, int(b.length + 1));
      case 2: // random splice
        return Buffer.concat([b.subarray(0, int(b.length + 1)), bytes(int(16)), b.subarray(int(b.length + 1))]);
      case 3: // a field repeated (last one wins in proto3; repeated fields grow)
        return Buffer.concat([b, b.subarray(0, int(b.length + 1))]);
      case 4: // unknown or wrong-type fields appended
        return Buffer.concat([b, Buffer.from([(int(30) + 1) << 3 | int(6)]), bytes(int(12))]);
      default: // byte overwrite with extreme varints
        if (b.length) {
          const at = int(b.length);
          b.fill(0xff, at, Math.min(b.length, at + 1 + int(6)));
        }
        return b;
    }
  }
  const nextRequest = (method) => {
    const kind = random();
    if (kind < 0.08) return bytes(int(64)); // pure random
    const msg = T(METHODS[method]).fromObject(requests[method]());
    const valid = Buffer.from(T(METHODS[method]).encode(msg).finish());
    return kind < 0.45 ? valid : mutate(valid);
  };
  nextRequest.row = tableRow;
  return nextRequest;
}

test(`${REQUESTS} mutated and random requests over the eight RPCs: no crash, every reply a gRPC status, a load works afterwards`, async () => {
  const seed = C.seedFromEnv();
  const random = C.rng(seed);
  const address = `127.0.0.1:${server.port}`;
  const fuzz = rawMethodClient(address);
  const typed = rawClient(address);
  const login = { Host: pg.host, Port: pg.port, Username: pg.user, Password: pg.password, DB: pg.database };
  // A few live sessions for the requests to name (some get closed by fuzzed Disconnects).
  const sessions = [];
  for (let k = 0; k < 4; k++) sessions.push((await rpc(typed, 'Connect', login)).ID);
  const next = generator(random, sessions, login);
  const methods = Object.keys(METHODS);
  const byCode = {};
  const byMethod = {};
  const notStatus = [];
  const details = {};
  let exited = null;
  server.exited.then((e) => (exited = e));
  const t0 = Date.now();
  let slowest = 0;
  let issued = 0;
  async function worker() {
    while (issued < REQUESTS && !exited) {
      const n = issued++;
      const method = methods[n % methods.length];
      const body = next(method);
      const started = Date.now();
      const code = await new Promise((resolve) => {
        fuzz[method](body, { deadline: Date.now() + 15000 }, (err) => {
          if (!err) return resolve(0);
          if (typeof err.code !== 'number') notStatus.push(String(err));
          const d = (details[err.code] = details[err.code] || {});
          const k = String(err.details).slice(0, 80);
          d[k] = (d[k] || 0) + 1;
          resolve(err.code);
        });
      });
      slowest = Math.max(slowest, Date.now() - started);
      byCode[code] = (byCode[code] || 0) + 1;
      byMethod[method] = (byMethod[method] || 0) + 1;
      // Keep live sessions available: replace one now and then (fuzzed Disconnects end them).
      if (n % 500 === 499) sessions[(n / 500) % sessions.length | 0] = (await rpc(typed, 'Connect', login)).ID;
    }
  }
  // Deep paths: an open load on a live session, then mutated Writes into it and a Close, so
  // that row decoding, COPY and commit see the fuzzed rows (a random session rarely has a load).
  const WriteRequest = T('WriteRequest');
  const deep = { writes: 0, accepted: 0, committed: 0 };
  async function deepWorker() {
    while (issued < REQUESTS && !exited) {
      const sid = (await rpc(typed, 'Connect', login)).ID;
      const opened = await rpc(typed, 'Open', { Session: { ID: sid }, TableName: 'fz', InsertOption: { ErrorLimitCount: 1000 } }).then(() => true, () => false);
      for (let k = 0; k < 5 && issued < REQUESTS; k++) {
        const n = issued++;
        // A valid WriteRequest for this live load; its rows encoded, then some of them mutated.
        const body = Buffer.from(WriteRequest.encode(WriteRequest.fromObject({ Session: { ID: sid }, Rows: Array.from({ length: 1 + (n % 4) }, () => ({ Data: next.row() })) })).finish());
        const code = await new Promise((resolve) => fuzz.Write(body, { deadline: Date.now() + 15000 }, (err) => resolve(err ? err.code : 0)));
        byCode[code] = (byCode[code] || 0) + 1;
        byMethod.Write = (byMethod.Write || 0) + 1;
        deep.writes++;
        if (code === 0) deep.accepted++;
      }
      if (opened) {
        const closed = await rpc(typed, 'Close', { session: { ID: sid }, MaxErrorRows: -1 }).then((st) => st, (err) => ({ err }));
        if (!closed.err) deep.committed += Number(closed.SuccessCount);
      }
      await rpc(typed, 'Disconnect', { ID: sid }).catch(() => undefined);
    }
  }
  await Promise.all([...Array.from({ length: IN_FLIGHT - 2 }, worker), deepWorker(), deepWorker()]);
  const seconds = (Date.now() - t0) / 1000;

  // Afterwards: the same process serves a normal load.
  const sid = (await rpc(typed, 'Connect', login)).ID;
  await rpc(typed, 'Open', { Session: { ID: sid }, TableName: 'fz', InsertOption: { InsertColumns: ['id', 't'] } });
  await rpc(typed, 'Write', { Session: { ID: sid }, Rows: [{ Data: encodeRow([V.i32(-4242), V.s('after fuzz')]) }] });
  const stats = await rpc(typed, 'Close', { session: { ID: sid }, MaxErrorRows: -1 });
  await rpc(typed, 'Disconnect', { ID: sid });
  const { rows } = await C.query(pg.url, "SELECT count(*)::int AS n FROM fz WHERE id = -4242 AND t = 'after fuzz'");
  grpc.Client.prototype.close.call(fuzz);
  grpc.Client.prototype.close.call(typed);

  const f = C.record({
    id: 'fuzz-gpss',
    scenario: `${REQUESTS} mutated/random protobuf requests over all eight RPCs`,
    node: 'gpss-pg',
    mode: 'all RPCs',
    faults: REQUESTS,
    seed,
    seconds: Math.round(seconds * 10) / 10,
    requests: issued,
    byMethod,
    byCode,
    slowestMs: slowest,
    crashes: exited ? 1 : 0,
    deep,
  });
  // The replies go beside the artifacts, not among them: gpss-pg quotes the fields of a refused
  // Connect (e.g. "database host … is not allowed"), and a garbled request can have moved the
  // caller's own password into such a field. That reply goes only to the caller who sent the
  // password; gpss-pg's log (scanned) must not hold it.
  require('node:fs').writeFileSync(path.join(C.outDir(), 'fuzz-gpss-replies.json'), JSON.stringify(details, null, 1));
  process.stdout.write(`# ${JSON.stringify(f)}\n`);
  assert.equal(exited, null, `gpss-pg exited during the fuzz (seed ${seed})`);
  assert.ok(issued >= REQUESTS);
  assert.equal(Object.values(byMethod).length, 8);
  assert.deepEqual(notStatus, [], 'every failed call carries a gRPC status code');
  // UNAVAILABLE is gpss-pg's own answer when a fuzzed Connect cannot reach PostgreSQL; any other
  // UNAVAILABLE (no connection, connection dropped) would mean the server went away.
  const unavailable = Object.keys(details[grpc.status.UNAVAILABLE] || {});
  assert.deepEqual(unavailable.filter((d) => !/^cannot connect to /.test(d)), [], 'no call found the server gone');
  assert.equal(byCode[grpc.status.DEADLINE_EXCEEDED] || 0, 0, 'no call hung');
  assert.ok(deep.writes > REQUESTS / 100 && deep.accepted > 0 && deep.committed > 0, `fuzzed rows reached open loads (${JSON.stringify(deep)})`);
  assert.equal(stats.SuccessCount, '1');
  assert.equal(rows[0].n, 1);
});
