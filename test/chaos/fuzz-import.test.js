'use strict';
// Fuzz: at least 2,000 mutated CSV/TEXT files and gzip streams through the import path
// (importFromOss: real ali-oss GET from the emulator, gunzip, COPY FROM STDIN into a real
// PostgreSQL, one transaction per import). Each input is put into the emulator and imported by
// key. Expected for every input: it either loads (the table then holds exactly the rows COPY
// reported) or rejects with a clear Error (a non-empty message, nothing imported: all or
// nothing), within a bounded time; memory stays bounded over the whole run. After a failure the
// connection is discarded, as oss-import does. Includes gzip bombs (a few KB expanding to 32 MB).
// CHAOS_SEED=<n> replays a run.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const v8 = require('node:v8');
const vm = require('node:vm');
const { Client } = require('pg');
const C = require('./support');
const { startTestOssEmulator } = require('../support/oss');
const { importFromOss } = require('../../dist/oss/import');

const INPUTS = Number(process.env.CHAOS_FUZZ_INPUTS) || 2000;
const PER_INPUT_MS = 15000;
const RSS_LIMIT_MB = 300;
const HEAP_LIMIT_MB = 200;
// RSS sampled after a full GC: what the import path holds, not garbage yet to be collected.
v8.setFlagsFromString('--expose-gc');
const gc = global.gc || vm.runInNewContext('gc');
// Gzip bombs (a few KB expanding to 32 MB), made once before the baseline so that making them
// does not count: a repeated valid row, and one endless line.
const BOMBS = [Buffer.from('1,a,2020-01-01,1\n'), Buffer.from('z')].map((line) => {
  const gz = zlib.createGzip({ level: 9 });
  const chunk = Buffer.alloc(line.length * Math.floor(1048576 / line.length), line);
  const parts = [];
  gz.on('data', (d) => parts.push(d));
  for (let k = 0; k < 32; k++) gz.write(chunk);
  gz.end();
  return new Promise((r) => gz.on('end', () => r(Buffer.concat(parts))));
});
let pg = null;
let oss = null;
let client = null;
const emulatorLog = [];

before(async () => {
  pg = await C.ownCluster();
  await C.query(pg.url, 'CREATE TABLE fi (id int, t text, d date, n numeric(8,2))');
  oss = await startTestOssEmulator({ buckets: ['fuzz-bucket'], accessKeySecret: C.secrets().ossAccessKeySecret, log: (l) => emulatorLog.push(l) });
  client = newClient();
  await client.connect();
});

// A connection that breaks during a COPY also emits 'error'; the failed import reports it.
function newClient() {
  const c = new Client({ connectionString: pg.url });
  c.on('error', () => undefined);
  return c;
}
after(async () => {
  if (client) await client.end().catch(() => undefined);
  C.saveText('fuzz-import', 'emulator.log', emulatorLog.join('\n'));
  if (oss) await oss.stop();
  if (pg) pg.stop();
});

function generator(random, bombs) {
  const int = (n) => Math.floor(random() * n);
  const pick = (a) => a[int(a.length)];
  const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const texts = ['plain', 'with,comma', 'with "quote"', 'tab\there', 'back\\slash', 'new\nline', '日本語', '', '\\N', 'NULL', 'x'.repeat(3000)];
  const csvField = (s) => (/[",\n\r]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s);
  const textField = (s) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
  function valid(format) {
    const lines = [];
    const eol = pick(['\n', '\r\n']);
    for (let k = 0, rows = 1 + int(60); k < rows; k++) {
      const t = pick(texts);
      const cells = [String(int(1e6) - 5e5), t, `20${10 + int(20)}-0${1 + int(9)}-1${int(9)}`, (random() * 1000).toFixed(2)];
      if (random() < 0.1) cells[pick([0, 1, 2, 3])] = null;
      lines.push(format === 'csv' ? cells.map((c) => (c === null ? '' : csvField(c))).join(',') : cells.map((c) => (c === null ? '\\N' : textField(c))).join('\t'));
    }
    return Buffer.from(lines.join(eol) + eol);
  }
  function mutate(buf, format) {
    const b = Buffer.from(buf);
    switch (int(10)) {
      case 0:
        for (let k = 0; k < 1 + int(8) && b.length; k++) b[int(b.length)] ^= 1 << int(8);
        return b;
      case 1:
        return b.subarray(0, int(b.length + 1));
      case 2:
        return Buffer.concat([b.subarray(0, int(b.length + 1)), bytes(1 + int(32)), b.subarray(int(b.length + 1))]);
      case 3: { // structural characters sprinkled in
        const chars = format === 'csv' ? ['"', ',', '\n', '\r', '\\'] : ['\t', '\\', '\n', '\r', '\\.'];
        for (let k = 0; k < 1 + int(6) && b.length; k++) b.write(pick(chars), int(b.length));
        return b;
      }
      case 4: // NUL and invalid UTF-8
        return Buffer.concat([b.subarray(0, int(b.length + 1)), Buffer.from(pick([[0], [0xc3], [0xff, 0xfe], [0xed, 0xa0, 0x80]])), b.subarray(int(b.length + 1))]);
      case 5: // extra / missing columns
        return Buffer.from(b.toString('latin1').replace(/\n/, pick([',1,2\n', '\t1\t2\n', '\n\n', '\n,\n'])), 'latin1');
      case 6: // one very long line
        return Buffer.concat([b, Buffer.from('9,' + 'y'.repeat(200000 + int(300000)) + '\n')]);
      case 7: // end-of-data marker and garbage after it
        return Buffer.concat([b, Buffer.from('\\.\n'), bytes(int(64))]);
      case 8: // pure random bytes
        return bytes(int(4096));
      default: // unchanged: some inputs must load
        return b;
    }
  }
  function gzipMutate(gz) {
    const b = Buffer.from(gz);
    switch (int(6)) {
      case 0: return b.subarray(0, int(b.length)); // truncated stream
      case 1: // corrupt body or CRC
        for (let k = 0; k < 1 + int(3); k++) b[10 + int(Math.max(1, b.length - 10))] ^= 0xff;
        return b;
      case 2: return Buffer.concat([b, b]); // multi-member
      case 3: return Buffer.concat([b, bytes(1 + int(40))]); // trailing garbage
      case 4: return Buffer.from([0x1f, 0x8b, ...bytes(int(30))]); // magic then noise
      default: return b;
    }
  }
  return (n) => {
    const format = random() < 0.5 ? 'csv' : 'text';
    if (n % 500 === 250) return { format: 'csv', kind: 'bomb', body: bombs[(n / 500) % 2 | 0] };
    let body = mutate(valid(format), format);
    let kind = 'plain';
    if (random() < 0.4) {
      body = zlib.gzipSync(body);
      kind = 'gzip';
      if (random() < 0.6) {
        body = gzipMutate(body);
        kind = 'gzip-mutated';
      }
    }
    return { format, kind, body };
  };
}

test(`${INPUTS} mutated CSV/TEXT files and gzip streams through the import: clear errors, all or nothing, bounded time and memory`, async () => {
  const seed = C.seedFromEnv();
  const next = generator(C.rng(seed), await Promise.all(BOMBS));
  const ali = oss.client({ bucket: 'fuzz-bucket' });
  gc();
  const live = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const rss0 = process.memoryUsage().rss;
  const live0 = live();
  let maxRss = rss0;
  let maxLive = live0;
  let slowest = 0;
  const outcomes = { loaded: 0, rejected: 0 };
  const byKind = {};
  const unclear = [];
  const partial = [];
  const errorSamples = {};
  const t0 = Date.now();
  for (let n = 0; n < INPUTS; n++) {
    const { format, kind, body } = next(n);
    const key = `in/${n}.${format}${kind === 'plain' ? '' : '.gz'}`;
    await ali.put(key, body);
    await client.query('TRUNCATE fi');
    const started = Date.now();
    let timer;
    const result = await Promise.race([
      importFromOss({ pgClient: client, table: 'fi', format: { format }, oss: ali, keys: [key], timeoutMs: 10000 }).then(
        (stats) => ({ stats }),
        (error) => ({ error }),
      ),
      new Promise((r) => (timer = setTimeout(() => r({ timeout: true }), PER_INPUT_MS))),
    ]);
    clearTimeout(timer);
    const ms = Date.now() - started;
    slowest = Math.max(slowest, ms);
    assert.ok(!result.timeout, `input ${n} (${kind} ${format}) took more than ${PER_INPUT_MS} ms (seed ${seed})`);
    if (result.error) {
      // As oss-import does (withClient): after a failed COPY the connection may still be in the
      // COPY protocol, so it is discarded, not reused; the server rolls back what it had open.
      await client.end().catch(() => undefined);
      client = newClient();
      await client.connect();
    }
    const rows = (await client.query('SELECT count(*)::int AS n FROM fi')).rows[0].n;
    byKind[kind] = byKind[kind] || { loaded: 0, rejected: 0 };
    if (result.error) {
      outcomes.rejected++;
      byKind[kind].rejected++;
      const msg = result.error instanceof Error ? result.error.message : '';
      if (!(result.error instanceof Error) || msg.trim().length < 10 || /undefined|\[object Object\]/.test(msg)) unclear.push({ n, kind, msg: String(result.error) });
      if (rows !== 0) partial.push({ n, kind, rows });
      const k = msg.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N').slice(0, 70);
      errorSamples[k] = (errorSamples[k] || 0) + 1;
    } else {
      outcomes.loaded++;
      byKind[kind].loaded++;
      if (rows !== result.stats.rows) partial.push({ n, kind, rows, reported: result.stats.rows });
    }
    await ali.delete(key);
    if (n % 50 === 0) {
      gc();
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
      maxLive = Math.max(maxLive, live());
    }
  }
  gc();
  maxRss = Math.max(maxRss, process.memoryUsage().rss);
  maxLive = Math.max(maxLive, live());
  const growthMb = (maxRss - rss0) / 1048576;
  const liveGrowthMb = (maxLive - live0) / 1048576;
  C.saveText('fuzz-import', 'errors.json', JSON.stringify(errorSamples, null, 1));
  const f = C.record({
    id: 'fuzz-import',
    scenario: `${INPUTS} mutated CSV/TEXT files and gzip streams through oss-import's COPY path`,
    node: 'oss-import',
    mode: 'client COPY, csv and text',
    faults: INPUTS,
    seed,
    seconds: Math.round((Date.now() - t0) / 100) / 10,
    inputs: INPUTS,
    ...outcomes,
    byKind,
    slowestMs: slowest,
    rssGrowthMb: Math.round(growthMb),
    heapGrowthMb: Math.round(liveGrowthMb),
    crashes: 0,
  });
  process.stdout.write(`# ${JSON.stringify(f)}\n`);
  assert.deepEqual(unclear, [], 'every rejection is an Error with a clear message');
  assert.deepEqual(partial, [], 'all or nothing: a rejected import leaves no row; a loaded one exactly the rows reported');
  assert.ok(outcomes.loaded > 0 && outcomes.rejected > 0, 'both outcomes occurred');
  // Peak live memory (JS heap + buffers, sampled after a GC every 50 inputs, bombs included)
  // and peak RSS over the whole run, above the start: bounded whatever the inputs.
  assert.ok(liveGrowthMb < HEAP_LIMIT_MB, `live memory grew ${liveGrowthMb.toFixed(0)} MB (limit ${HEAP_LIMIT_MB})`);
  assert.ok(growthMb < RSS_LIMIT_MB, `RSS grew ${growthMb.toFixed(0)} MB (limit ${RSS_LIMIT_MB})`);
  // The connection still works after everything.
  assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
});
