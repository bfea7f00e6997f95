'use strict';
// Unit tests of the pure parts behind the OSS nodes: account options, rows in messages, transfer
// options and the messages export's rolling writer (src/oss); error shaping and redaction,
// settings, progress status, the transfer queue and pacing credits as the OSS nodes use them
// (the node kit, src/nodes/kit).
const { test } = require('node:test');
const assert = require('node:assert/strict');

const acct = require('../dist/oss');
const kit = require('../dist/nodes/kit');
// The OSS nodes shape errors with the kit's toNodeError and their default code.
const errors = { redact: kit.redactSecrets, toNodeError: (e, context, secrets) => kit.toNodeError(e, context, secrets, 'OSS_NODE') };
const rows = require('../dist/oss');
const opts = require('../dist/oss');
const { MessageObjectWriter, MessageBufferFullError } = require('../dist/oss');
const progress = kit;
const { SerialQueue, Credits } = kit;

const SECRET = 'S3cr3t-Access-Key-Value';

test('account: defaults, endpoint URL, V4 and cname false', () => {
  const s = acct.readAccountSettings({ bucket: 'my-bucket', endpoint: '127.0.0.1:9000', secure: false });
  assert.equal(s.region, 'oss-cn-hangzhou');
  assert.equal(s.signature, 'v4');
  assert.equal(s.timeoutMs, 60000);
  const o = acct.clientOptions(s, { accessKeyId: 'AK', accessKeySecret: SECRET });
  assert.equal(o.endpoint, 'http://127.0.0.1:9000');
  assert.equal(o.secure, false);
  assert.equal(o.cname, false);
  assert.equal(o.authorizationV4, true);
  assert.equal(o.bucket, 'my-bucket');
  const v1 = acct.clientOptions(acct.readAccountSettings({ bucket: 'my-bucket', signature: 'v1' }), { accessKeyId: 'AK', accessKeySecret: SECRET });
  assert.equal(v1.authorizationV4, false);
  assert.equal(v1.endpoint, undefined);
  assert.equal(v1.secure, true);
  // An explicit scheme wins over the https checkbox.
  const https = acct.readAccountSettings({ bucket: 'my-bucket', endpoint: 'https://oss.example.com', secure: false });
  assert.equal(acct.endpointUrl(https), 'https://oss.example.com');
  assert.equal(acct.clientOptions(https, { accessKeyId: 'a', accessKeySecret: 'b' }).secure, true);
});

test('account: validation names the field and never the secret', () => {
  const ok = acct.readAccountSettings({ bucket: 'my-bucket' });
  assert.doesNotThrow(() => acct.validateAccount(ok, { accessKeyId: 'AK', accessKeySecret: SECRET }));
  const cases = [
    [{ bucket: '' }, { accessKeyId: 'AK', accessKeySecret: SECRET }, 'bucket'],
    [{ bucket: 'B!' }, { accessKeyId: 'AK', accessKeySecret: SECRET }, 'bucket'],
    [{ bucket: 'my-bucket', endpoint: 'http://h/path' }, { accessKeyId: 'AK', accessKeySecret: SECRET }, 'endpoint'],
    [{ bucket: 'my-bucket', timeout: '10' }, { accessKeyId: 'AK', accessKeySecret: SECRET }, 'timeout'],
    [{ bucket: 'my-bucket' }, { accessKeySecret: SECRET }, 'accessKeyId'],
    [{ bucket: 'my-bucket' }, { accessKeyId: 'AK' }, 'accessKeySecret'],
  ];
  for (const [def, c, field] of cases) {
    assert.throws(
      () => acct.validateAccount(acct.readAccountSettings(def), c),
      (e) => e.code === 'OSS_ACCOUNT_CONFIG' && e.field === field && !e.message.includes(SECRET),
      `field ${field}`,
    );
  }
});

test('account: oss:// LOCATION host comes from extEndpoint, then the endpoint host, then the region', () => {
  assert.equal(acct.locationEndpoint(acct.readAccountSettings({ bucket: 'b-1', extEndpoint: 'oss-cn-shanghai-internal.aliyuncs.com', endpoint: 'http://127.0.0.1:9000' })), 'oss-cn-shanghai-internal.aliyuncs.com');
  assert.equal(acct.locationEndpoint(acct.readAccountSettings({ bucket: 'b-1', endpoint: 'https://oss-cn-beijing.aliyuncs.com' })), 'oss-cn-beijing.aliyuncs.com');
  assert.equal(acct.locationEndpoint(acct.readAccountSettings({ bucket: 'b-1', region: 'oss-cn-hangzhou', internal: true })), 'oss-cn-hangzhou-internal.aliyuncs.com');
  assert.throws(() => acct.locationEndpoint(acct.readAccountSettings({ bucket: 'b-1', extEndpoint: 'host with space' })), (e) => e.field === 'extEndpoint');
  assert.equal(acct.describeAccount(acct.readAccountSettings({ bucket: 'b-1', endpoint: '127.0.0.1:9000', secure: false })), 'oss://b-1 @ http://127.0.0.1:9000');
});

test('errors: redact secrets, LOCATION keys and URL passwords; keep OSS code and status', () => {
  const text = `failed: key=${SECRET} id=AK postgres://u:pw123@h/db and ${SECRET}`;
  const r = errors.redact(text, [SECRET, 'pw123']);
  assert.ok(!r.includes(SECRET) && !r.includes('pw123'), r);
  assert.match(r, /key=XXX/);
  const ossErr = Object.assign(new Error(`The request signature we calculated does not match (${SECRET})`), { code: 'SignatureDoesNotMatch', status: 403, requestId: 'RID1' });
  const e = errors.toNodeError(ossErr, 'oss-export of "t" to oss://b failed', [SECRET]);
  assert.ok(e instanceof Error);
  assert.equal(e.code, 'SignatureDoesNotMatch');
  assert.equal(e.status, 403);
  assert.equal(e.requestId, 'RID1');
  assert.match(e.message, /^oss-export of "t" to oss:\/\/b failed: /);
  assert.match(e.message, /SignatureDoesNotMatch, HTTP 403/);
  assert.ok(!e.message.includes(SECRET));
  assert.equal(errors.toNodeError('plain', 'ctx', []).message, 'ctx: plain');
  assert.equal(e.brief, 'SignatureDoesNotMatch (403)');
  // src/oss errors keep the details apart.
  const lib = Object.assign(new Error('OSS PutObject of "k" failed'), { code: 'OSS_AccessDenied', details: { status: 403, requestId: 'R2' } });
  const le = errors.toNodeError(lib, 'ctx', []);
  assert.equal(le.status, 403);
  assert.equal(le.requestId, 'R2');
  assert.equal(le.brief, 'AccessDenied (403)');
  const long = errors.toNodeError(new Error(`relation "x" does not exist and more words here ${SECRET}`), 'ctx', [SECRET]);
  assert.ok(long.brief.length <= 40 && !long.brief.includes(SECRET), long.brief);
});

test('rows: objects, arrays of objects, arrays of arrays; missing → NULL; unknown key → error naming it', () => {
  const one = rows.payloadToRows({ a: 1, b: 'x' }, ['a', 'b', 'c']);
  assert.deepEqual(one.rows, [[1, 'x', null]]);
  const many = rows.payloadToRows([{ b: 2 }, { a: null, c: { j: 1 } }], ['a', 'b', 'c']);
  assert.deepEqual(many.rows, [[null, 2, null], [null, null, '{"j":1}']]);
  const arrays = rows.payloadToRows([[1, 2], [3, 4]], ['a', 'b']);
  assert.deepEqual(arrays.rows, [[1, 2], [3, 4]]);
  const single = rows.payloadToRows([1, 'x', null], null);
  assert.deepEqual(single.rows, [[1, 'x', null]]);
  const learned = rows.payloadToRows([{ x: 1, y: 2 }, { y: 3 }], null);
  assert.deepEqual(learned.columns, ['x', 'y']);
  assert.deepEqual(learned.rows, [[1, 2], [null, 3]]);
  const d = new Date('2024-01-02T03:04:05.000Z');
  const buf = Buffer.from([1, 2]);
  assert.deepEqual(rows.payloadToRows({ t: d, b: buf, f: true }, ['t', 'b', 'f']).rows, [[d, buf, true]]);
  assert.throws(() => rows.payloadToRows({ a: 1, typo: 2 }, ['a', 'b']), (e) => e.code === 'OSS_ROW_SHAPE' && e.column === 'typo' && /"typo"/.test(e.message));
  assert.throws(() => rows.payloadToRows([[1, 2, 3]], ['a', 'b']), /3 values but there are 2 columns/);
  assert.throws(() => rows.payloadToRows('text', null), /msg.payload must be/);
  assert.deepEqual(kit.parseColumnList(' a, b ,,c'), ['a', 'b', 'c']);
  assert.deepEqual(kit.parseColumnList(''), [], 'no columns: the nodes take the table\'s or the first object\'s');
});

test('options: table names, prefixes, keys, numbers and formats', () => {
  assert.deepEqual(opts.parseTableName('sales'), { table: 'sales' });
  assert.deepEqual(opts.parseTableName('public.sales'), { schema: 'public', table: 'sales' });
  assert.deepEqual(opts.parseTableName('"My Schema"."odd.""name"'), { schema: 'My Schema', table: 'odd."name' });
  assert.throws(() => opts.parseTableName(''), (e) => e.option === 'table');
  assert.throws(() => opts.parseTableName('a.b.c'), (e) => e.option === 'table');
  assert.throws(() => opts.parseTableName('"open'), /unterminated/);
  assert.equal(opts.checkPrefix('exports/x/'), 'exports/x/');
  assert.throws(() => opts.checkPrefix('/abs'), (e) => e.option === 'prefix');
  assert.throws(() => opts.checkPrefix('a/../b'), (e) => e.option === 'prefix');
  assert.deepEqual(opts.parseKeys(['a', 'b']), ['a', 'b']);
  assert.deepEqual(opts.parseKeys('k'), ['k']);
  assert.equal(opts.parseKeys(undefined), null);
  assert.throws(() => opts.parseKeys([1]), (e) => e.option === 'keys');
  assert.equal(kit.intSetting('', 5, 1, 9, 'n'), 5);
  assert.equal(kit.intSetting('7', 5, 1, 9, 'n'), 7);
  assert.throws(() => kit.intSetting('10', 5, 1, 9, 'gzip level'), /gzip level must be from 1 to 9/);
  assert.throws(() => kit.intSetting('1.5', 5, 1, 9, 'n'), /whole number/);
  assert.equal(opts.parseTransferMode(''), 'auto');
  assert.throws(() => opts.parseTransferMode('fast'), (e) => e.option === 'mode');
  assert.deepEqual(opts.formatOptionsFrom({ format: 'text', delimiter: '\\t', nullString: '' }), { format: 'text', delimiter: '\t', header: false, newline: 'LF' });
  assert.deepEqual(opts.formatOptionsFrom({ format: 'csv', delimiter: ';', quote: "'", nullString: 'NULL', header: true, newline: 'CRLF' }), {
    format: 'csv', delimiter: ';', quote: "'", nullString: 'NULL', header: true, newline: 'CRLF',
  });
  assert.throws(() => opts.formatOptionsFrom({ format: 'json' }), (e) => e.option === 'format');
  assert.equal(opts.nameStem('', { table: 'sensor readings' }), 'sensor_readings');
  assert.equal(opts.nameStem('', null), 'export');
});

/** A sink that records writes and settles when the test says so. */
function fakeSinks() {
  const sinks = [];
  const open = (seq) => {
    let resolve;
    let reject;
    const settled = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    settled.catch(() => undefined); // an aborted sink whose end() was never called
    const s = {
      key: `obj-${seq}`,
      data: [],
      ended: false,
      aborted: false,
      write(c) {
        s.data.push(c);
      },
      buffered() {
        return s.ended ? 0 : s.data.reduce((a, c) => a + c.length, 0);
      },
      end() {
        s.ended = true;
        return settled;
      },
      async abort() {
        s.aborted = true;
        reject(new Error('aborted'));
      },
      succeed: (bytes) => resolve({ bytes }),
      fail: (e) => reject(e),
    };
    sinks.push(s);
    return s;
  };
  return { sinks, open };
}

test('messages writer (MessageObjectWriter): rolls by size on message boundaries and acks only after the upload', async () => {
  const { sinks, open } = fakeSinks();
  const seen = [];
  const r = new MessageObjectWriter({ rollBytes: 10, rollMs: 0, maxBufferBytes: 1000, header: 'h\n', open, onObject: (o, e) => seen.push([o, e]) });
  const acks = [];
  const ack = (i) => (err) => acks.push([i, err ? err.message : 'ok']);
  r.add(Buffer.from('aaaa\n'), 1, ack(1)); // 2 (header) + 5 = 7 bytes
  assert.equal(sinks.length, 1);
  r.add(Buffer.from('bbbb\n'), 1, ack(2)); // 12 ≥ 10 → rolled
  assert.equal(sinks[0].ended, true);
  r.add(Buffer.from('cc\n'), 1, ack(3)); // new object
  assert.equal(sinks.length, 2);
  assert.equal(Buffer.concat(sinks[0].data).toString(), 'h\naaaa\nbbbb\n');
  assert.equal(Buffer.concat(sinks[1].data).toString(), 'h\ncc\n');
  await new Promise((res) => setImmediate(res));
  assert.deepEqual(acks, [], 'no ack before the upload finished');
  sinks[0].succeed(7);
  // Acknowledgements are handed out on a later turn of the event loop (in slices): a few turns.
  for (let turn = 0; turn < 10 && acks.length < 2; turn++) await new Promise((res) => setImmediate(res));
  assert.deepEqual(acks, [[1, 'ok'], [2, 'ok']]);
  const flushing = r.flush();
  assert.equal(sinks[1].ended, true);
  sinks[1].succeed(4);
  const out = await flushing;
  assert.deepEqual(acks.map((a) => a[0]), [1, 2, 3]);
  assert.deepEqual(out.objects.map((o) => [o.key, o.rows, o.bytes, o.bytesIn]), [['obj-0', 2, 7, 12], ['obj-1', 1, 4, 5]]);
  assert.deepEqual(r.totals, { rows: 3, bytesIn: 17, bytesOut: 11, objects: 2 });
  assert.equal(seen.length, 2);
  // Nothing left: a second flush returns nothing and opens no object.
  assert.deepEqual((await r.flush()).objects, []);
  assert.equal(sinks.length, 2);
});

test('messages writer (MessageObjectWriter): rolls by age; a failed upload fails exactly its messages', async () => {
  const { sinks, open } = fakeSinks();
  const r = new MessageObjectWriter({ rollBytes: 1e9, rollMs: 30, maxBufferBytes: 1000, header: '', open });
  const acks = [];
  r.add(Buffer.from('x\n'), 1, (e) => acks.push(['x', e && e.message]));
  await new Promise((res) => setTimeout(res, 80));
  assert.equal(sinks[0].ended, true, 'rolled by age');
  r.add(Buffer.from('y\n'), 1, (e) => acks.push(['y', e && e.message]));
  sinks[0].fail(new Error('HTTP 500 after 6 attempts'));
  sinks[1].ended || r.roll();
  sinks[1].succeed(2);
  const out = await r.flush();
  assert.deepEqual(acks.sort(), [['x', 'HTTP 500 after 6 attempts'], ['y', undefined]]);
  assert.equal(out.errors.length, 1);
  assert.deepEqual(out.objects.map((o) => o.key), ['obj-1']);
});

test('messages writer (MessageObjectWriter): buffer limit fails fast without acking; abort fails waiting messages and aborts sinks', async () => {
  const { sinks, open } = fakeSinks();
  const r = new MessageObjectWriter({ rollBytes: 1e9, rollMs: 0, maxBufferBytes: 8, header: '', open });
  const acks = [];
  r.add(Buffer.from('12345\n'), 1, (e) => acks.push(e ? e.message : 'ok'));
  assert.throws(() => r.add(Buffer.from('67890\n'), 1, () => acks.push('never')), (e) => e instanceof MessageBufferFullError && e.code === 'OSS_BUFFER_FULL');
  assert.equal(r.pending(), 1);
  await r.abort(new Error('closed'));
  assert.equal(sinks[0].aborted, true);
  assert.deepEqual(acks, ['closed']);
  assert.throws(() => r.add(Buffer.from('z\n'), 1, () => undefined), /closing/);
});

test('progress: short text and at most one update per interval; a final state at once', () => {
  assert.equal(progress.formatBytes(512), '512 B');
  assert.equal(progress.formatBytes(3 * 1048576), '3.0 MB');
  assert.equal(progress.shortCount(123456), '123.5k');
  assert.equal(progress.shortCount(12.7), '13');
  assert.equal(progress.shortCount(1234567), '1.23M');
  assert.equal(progress.progressText({ bytes: 10 * 1048576, rows: 2500000 }, 2000), '10.0 MB 2.50M rows 5.0 MB/s');
  let now = 0;
  const out = [];
  const st = new kit.ThrottledStatus((s) => out.push(s), 1000, () => now);
  const show = (n) => st.set({ fill: 'blue', shape: 'dot', text: progress.progressText({ bytes: n, rows: n }, now) });
  now = 1500;
  show(1);
  now = 1700;
  show(2);
  now = 2400;
  show(3);
  assert.equal(out.length, 1, 'one update per interval (the later ones wait as its trailing update)');
  st.setNow({ fill: 'green', shape: 'dot', text: 'done' });
  assert.deepEqual(out.map((s) => s.fill), ['blue', 'green'], 'the final state at once, the pending update dropped');
  st.dispose();
});

test('serial queue: one task at a time, in order, with a cap on waiting tasks', async () => {
  const q = new SerialQueue(3);
  const log = [];
  let running = 0;
  const task = (i, ms, fail) => async () => {
    running++;
    assert.equal(running, 1);
    log.push(`start ${i}`);
    await new Promise((r) => setTimeout(r, ms));
    running--;
    log.push(`end ${i}`);
    if (fail) throw new Error(`t${i}`);
    return i;
  };
  const a = q.run(task(1, 20));
  const b = q.run(task(2, 5, true));
  const c = q.run(task(3, 1));
  await assert.rejects(q.run(task(4, 1)), /too many requests queued/);
  assert.equal(await a, 1);
  await assert.rejects(b, /t2/);
  assert.equal(await c, 3);
  await q.idle();
  assert.deepEqual(log, ['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
});

test('credits: at most limit outstanding; release wakes waiters in order; abort fails them', async () => {
  const c = new Credits(2);
  await c.acquire();
  await c.acquire();
  assert.equal(c.outstanding, 2);
  const order = [];
  const w1 = c.acquire().then(() => order.push(1));
  const w2 = c.acquire().then(() => order.push(2));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, []);
  c.release();
  await w1;
  assert.deepEqual(order, [1]);
  const w3 = c.acquire();
  c.abort(new Error('closed'));
  await assert.rejects(w2, /closed/);
  await assert.rejects(w3, /closed/);
  c.reset();
  assert.equal(c.outstanding, 0);
  c.release();
  c.release();
  assert.equal(c.outstanding, 0, 'never more credits than the limit');
});

test('messages writer (MessageObjectWriter): rollKey closes the current object only when it is that key', async () => {
  const { sinks, open } = fakeSinks();
  const r = new MessageObjectWriter({ rollBytes: 1e9, rollMs: 0, maxBufferBytes: 1000, header: '', open });
  const acks = [];
  r.add(Buffer.from('a\n'), 1, (e) => acks.push(e ? e.message : 'ok'));
  r.rollKey('obj-99');
  assert.equal(sinks[0].ended, false);
  r.rollKey('obj-0');
  assert.equal(sinks[0].ended, true);
  sinks[0].fail(new Error('403'));
  await r.flush();
  assert.deepEqual(acks, ['403']);
});

test('transfer queue: one at a time; close cancels the running one and fails the waiting one, each saying so', async () => {
  const q = new kit.TransferQueue('export', 5);
  const order = [];
  let seen;
  const running = q.run((signal) => new Promise((resolve, reject) => {
    order.push('first started');
    seen = signal;
    signal.addEventListener('abort', () => reject(new Error('aborted by the library')), { once: true });
  })).catch((err) => q.failure(seen, err));
  const waiting = q.run(async () => order.push('second started'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['first started']);
  assert.equal(q.closed, false);
  await q.close();
  assert.equal(q.closed, true);
  assert.match((await running).message, /^cancelled: the node was closed during the transfer$/);
  await assert.rejects(waiting, (e) => e.message === 'cancelled: the node was closed before this export started');
  assert.deepEqual(order, ['first started'], 'the waiting transfer never started');
  // A failure that is not a cancellation stays itself.
  const other = new Error('HTTP 500');
  assert.equal(new kit.TransferQueue('import').failure(new AbortController().signal, other), other);
});

test('credits: a wait longer than slowMs is reported once; a quick one is not', async () => {
  const c = new Credits(1);
  let slow = 0;
  await c.acquire(() => slow++, 20);
  const quick = c.acquire(() => slow++, 50);
  c.release();
  await quick;
  const late = c.acquire(() => slow++, 20);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(slow, 1, 'the slow wait was reported');
  c.release();
  await late;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(slow, 1, 'reported once, and not for the quick wait');
});

test('transfer status: done, rejected rows and a failed DROP from the locale texts', () => {
  const t = (key, vars) => `${key}${vars ? JSON.stringify(vars) : ''}`;
  assert.deepEqual(kit.transferDoneStatus(t, { objects: 2, rows: 20000, bytes: 3 * 1048576 }), { fill: 'green', shape: 'dot', text: 'status.done{"objects":2,"rows":"20.0k","bytes":"3.0 MB"}' });
  assert.deepEqual(kit.transferDoneStatus(t, { objects: 1, rows: 5, bytes: 10, rejected: 3 }).fill, 'yellow');
  assert.match(kit.transferDoneStatus(t, { objects: 1, rows: 5, bytes: 10, rejected: 3 }).text, / status\.rejected\{"count":"3"\}$/);
  assert.deepEqual(kit.transferDoneStatus(t, { objects: 1, rows: 5, bytes: 10, warnings: ['x'] }), { fill: 'yellow', shape: 'dot', text: 'status.done{"objects":1,"rows":"5","bytes":"10 B"}; status.dropFailed' });
});

test('fetch once: shared while it succeeds; a failure is not kept', async () => {
  const { FetchOnce } = require('../dist/shared/retry-once');
  let calls = 0;
  let fail = true;
  const once = new FetchOnce(async () => {
    calls++;
    if (fail) throw new Error('database down');
    return ['a', 'b'];
  });
  await assert.rejects(once.get(), /database down/);
  fail = false;
  const [x, y] = await Promise.all([once.get(), once.get()]);
  assert.deepEqual(x, ['a', 'b']);
  assert.equal(x, y);
  await once.get();
  assert.equal(calls, 2, 'asked again after the failure, then once for all');
});
