'use strict';
// CSV/TEXT codec checked against PostgreSQL itself: what COPY … TO writes, our parser reads
// back as the same values; what our encoder writes, COPY … FROM loads as the same values.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { pipeline } = require('node:stream/promises');
const { Readable, Writable } = require('node:stream');
const { Client } = require('pg');
const { to: copyTo, from: copyFrom } = require('pg-copy-streams');
const { usePostgres } = require('./support/pg');
const { createLineEncoder, encodeRows, parseRows, RowParser, RowEncoderStream, RowBoundaryScanner } = require('../dist/oss/codec');
const { resolveFormat, copyWithOptions, FormatOptionError } = require('../dist/oss/format');

const pg = usePostgres();
let client;

// Hostile values: NULL vs '', quotes, delimiters, newlines, tabs, backslashes, unicode
// (including astral characters), things that look like the null marker or end-of-data.
const VALUES = [
  null, '', ' ', 'plain', 'a,b', 'say "hi"', '"', '""', 'line1\nline2', 'cr\rlf\r\n', 'tab\there', 'back\\slash',
  '\\N', 'NULL', '\\.', '|pipe|', "it's", 'ünïcødé €', '𝄞 music 🎵', '中文,"引号"\n换行', '\\x41', ' lead', 'trail ', '\b\f\v',
  ';', 'a\\', '\\', '\t', ',', '\n',
];
const ROWS = VALUES.map((v, i) => [String(i), v, i % 3 === 0 ? null : `r${i}`]);

const FORMATS = [
  { format: 'csv' },
  { format: 'csv', delimiter: '|', quote: "'", escape: '\\', nullString: 'NULL' },
  { format: 'csv', delimiter: ';', nullString: '\\N' },
  { format: 'text' },
  { format: 'text', delimiter: '|', nullString: '' },
  { format: 'text', delimiter: ',', nullString: 'NULL' },
];

// Root-level before hooks of Node 20 do not wait for the fixture's hook, so connect lazily.
let ready = null;
function setup() {
  ready ??= init();
  return ready;
}
async function init() {
  client = new Client({ connectionString: pg.url });
  await client.connect();
  await client.query('CREATE TABLE codec_src (id int, v text, w text)');
  await client.query('CREATE TABLE codec_dst (id int, v text, w text)');
  const vals = [];
  const params = [];
  ROWS.forEach((r, i) => {
    params.push(`($${i * 3 + 1}::int, $${i * 3 + 2}, $${i * 3 + 3})`);
    vals.push(...r);
  });
  await client.query(`INSERT INTO codec_src VALUES ${params.join(',')}`, vals);
}
after(async () => {
    await setup();
  await client?.end();
});

async function copyOut(sql) {
  const chunks = [];
  await pipeline(client.query(copyTo(sql)), new Writable({ write(c, _e, cb) { chunks.push(c); cb(); } }));
  return Buffer.concat(chunks);
}

// In TEXT format a custom null string that is also a data value ('' or 'NULL') is ambiguous
// by definition (PostgreSQL reads it as NULL too); those cells are not compared.
const ambiguous = (fmt, v) => fmt.format === 'text' && fmt.nullString !== undefined && fmt.nullString !== '\\N' && v === fmt.nullString;

for (const fmt of FORMATS) {
  const label = JSON.stringify(fmt);

  test(`${label}: COPY TO output parses to the same rows`, async () => {
    await setup();
    const f = resolveFormat(fmt);
    const data = await copyOut(`COPY (SELECT id::text, v, w FROM codec_src ORDER BY codec_src.id) TO STDOUT WITH ${copyWithOptions(f)}`);
    const rows = parseRows(data, fmt);
    const exp = ROWS;
    const amb = (v) => ambiguous(fmt, v);
    assert.equal(rows.length, exp.length);
    rows.forEach((r, i) => {
      exp[i].forEach((v, j) => {
        if (!amb(v)) assert.deepEqual(r[j], v, `row ${i} col ${j}: ${JSON.stringify(data.toString().split('\n')[i])}`);
      });
    });
  });

  test(`${label}: encoder output loads through COPY FROM as the same rows`, async () => {
    await setup();
    const f = resolveFormat(fmt);
    await client.query('TRUNCATE codec_dst');
    const text = encodeRows(ROWS, fmt);
    await pipeline(Readable.from([Buffer.from(text)]), client.query(copyFrom(`COPY codec_dst FROM STDIN WITH ${copyWithOptions(f)}`)));
    const { rows } = await client.query('SELECT id::text, v, w FROM codec_dst ORDER BY codec_dst.id');
    const amb = (v) => ambiguous(fmt, v);
    assert.equal(rows.length, ROWS.length);
    rows.forEach((r, i) => {
      const got = [r.id, r.v, r.w];
      ROWS[i].forEach((v, j) => {
        if (!amb(v)) assert.deepEqual(got[j], v, `row ${i} col ${j}`);
      });
    });
  });

  test(`${label}: the streaming parser gives the same rows for every chunking (1, 2, 3, 7 bytes)`, async () => {
    await setup();
    const data = Buffer.from(encodeRows(ROWS, fmt));
    const whole = parseRows(data, fmt);
    for (const size of [1, 2, 3, 7]) {
      const parser = new RowParser(fmt);
      const got = [];
      const parts = [];
      for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
      await pipeline(Readable.from(parts), parser, new Writable({ objectMode: true, write(r, _e, cb) { got.push(r); cb(); } }));
      assert.deepEqual(got, whole, `chunk size ${size}`);
      assert.equal(parser.rows, ROWS.length);
    }
  });
}

test('bytea, numeric precision and timestamps round-trip through the encoder and PostgreSQL', async () => {
    await setup();
  await client.query('CREATE TABLE codec_types (b bytea, n numeric, t timestamp, tz timestamptz, big int8, f float8, ok bool)');
  const bytes = Buffer.from([0, 1, 2, 0x5c, 0x22, 0x2c, 0x0a, 0xff, 0xfe]);
  const rows = [
    [bytes, '12345678901234567890.123456789012345678', '2026-11-22 10:11:12.123456', '2026-11-22T10:11:12.5Z', 9007199254740993n, 0.1, true],
    [Buffer.alloc(0), '-0.000000000000000001', '1999-12-31 23:59:59', new Date('2000-01-01T00:00:00Z'), '-9223372036854775808', 1e308, false],
    [null, null, null, null, null, null, null],
  ];
  for (const fmt of [{ format: 'csv' }, { format: 'text' }]) {
    await client.query('TRUNCATE codec_types');
    await pipeline(Readable.from([Buffer.from(encodeRows(rows, fmt))]), client.query(copyFrom(`COPY codec_types FROM STDIN WITH ${copyWithOptions(resolveFormat(fmt))}`)));
    const { rows: got } = await client.query(`SELECT encode(b,'hex') b, n::text, t::text, (tz AT TIME ZONE 'UTC')::text tz, big::text, f, ok FROM codec_types ORDER BY n NULLS LAST`);
    assert.deepEqual(got[0], { b: '', n: '-0.000000000000000001', t: '1999-12-31 23:59:59', tz: '2000-01-01 00:00:00', big: '-9223372036854775808', f: 1e308, ok: false });
    assert.deepEqual(got[1], { b: bytes.toString('hex'), n: '12345678901234567890.123456789012345678', t: '2026-11-22 10:11:12.123456', tz: '2026-11-22 10:11:12.5', big: '9007199254740993', f: 0.1, ok: true });
    assert.deepEqual(got[2], { b: null, n: null, t: null, tz: null, big: null, f: null, ok: null });
    // And back: COPY TO of bytea parses to the \x hex text PostgreSQL uses.
    const out = await copyOut(`COPY (SELECT b FROM codec_types ORDER BY n NULLS LAST) TO STDOUT WITH ${copyWithOptions(resolveFormat(fmt))}`);
    assert.deepEqual(parseRows(out, fmt).map((r) => r[0]), ['\\x', '\\x' + bytes.toString('hex'), null]);
  }
});

test('header lines and CRLF / CR newlines: written by the encoder, read by COPY and by the parser', async () => {
    await setup();
  for (const newline of ['LF', 'CRLF', 'CR']) {
    for (const format of ['csv', 'text']) {
      const fmt = { format, header: true, newline };
      const rows = [['1', 'a "b"', null], ['2', '', 'x,y']];
      const enc = new RowEncoderStream(fmt, { columns: ['id', 'v', 'w'] });
      const chunks = [];
      await pipeline(Readable.from(rows, { objectMode: true }), enc, new Writable({ write(c, _e, cb) { chunks.push(c); cb(); } }));
      const data = Buffer.concat(chunks);
      const nl = newline === 'LF' ? '\n' : newline === 'CR' ? '\r' : '\r\n';
      assert.ok(data.toString().startsWith(`id${format === 'csv' ? ',' : '\t'}v${format === 'csv' ? ',' : '\t'}w${nl}`));
      assert.deepEqual(parseRows(data, fmt), rows);
      if (format === 'csv' || newline === 'LF') {
        await client.query('TRUNCATE codec_dst');
        await pipeline(Readable.from([data]), client.query(copyFrom(`COPY codec_dst FROM STDIN WITH ${copyWithOptions(resolveFormat(fmt), true)}`)));
        const { rows: got } = await client.query('SELECT id::text, v, w FROM codec_dst ORDER BY codec_dst.id');
        assert.deepEqual(got.map((r) => [r.id, r.v, r.w]), rows, `${format} ${newline}`);
      }
    }
  }
});

test('the row boundary scanner ignores newlines inside quoted CSV values across chunks', () => {
  const f = resolveFormat({ format: 'csv' });
  const data = Buffer.from('1,"a\nb"\n2,"c""\n"\n3,x\n');
  for (let split = 0; split <= data.length; split++) {
    const s = new RowBoundaryScanner(f);
    const ends = [];
    for (const [part, base] of [[data.subarray(0, split), 0], [data.subarray(split), split]]) {
      let i = s.next(part, 0);
      while (i !== -1) {
        ends.push(base + i);
        i = s.next(part, i + 1);
      }
    }
    assert.deepEqual(ends, [7, 16, 20], `split at ${split}`);
  }
});

test('invalid format options are rejected naming the option', () => {
  assert.throws(() => resolveFormat({ format: 'json' }), (e) => e instanceof FormatOptionError && e.option === 'format');
  assert.throws(() => resolveFormat({ format: 'csv', delimiter: '::' }), (e) => e.option === 'delimiter');
  assert.throws(() => resolveFormat({ format: 'csv', delimiter: '"' }), (e) => e.option === 'quote');
  assert.throws(() => resolveFormat({ format: 'text', quote: "'" }), (e) => e.option === 'quote');
  assert.throws(() => resolveFormat({ format: 'csv', encoding: 'LATIN1' }), (e) => e.option === 'encoding');
  assert.throws(() => resolveFormat({ format: 'csv', newline: 'LFCR' }), (e) => e.option === 'newline');
  assert.throws(() => resolveFormat({ format: 'csv', nullString: 'a,b' }), (e) => e.option === 'nullString');
  assert.throws(() => parseRows('1,"open\n', { format: 'csv' }), /unterminated CSV quoted field/);
});

test('createLineEncoder: NULL vs empty string in CSV and TEXT', () => {
  assert.equal(createLineEncoder({ format: 'csv' }).encodeRow([null, '', 'x']), ',"",x\n');
  assert.equal(createLineEncoder({ format: 'text' }).encodeRow([null, '', 'a\tb\\']), '\\N\t\ta\\tb\\\\\n');
});
