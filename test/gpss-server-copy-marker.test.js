'use strict';
// A raw csv/delimited line that PostgreSQL's COPY would read as its end-of-copy marker `\.`
// (or that would join the next row to itself) is a format error of that row, counted
// against the error limit and listed in ErrorRows — never a silently shorter load.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const { useGpssServer, status } = require('./support/gpss-server');
const { rawLineProblem, rawLineSyntax } = require('../dist/gpss-server/raw-line-check');

const pg = usePostgres();
const g = useGpssServer(pg);

const S = (ID) => ({ Session: { ID } });
const line = (t) => ({ Data: Buffer.from(t) });

async function loadLines(table, format, lines, limits = { ErrorLimitCount: 10 }) {
  const s = await g.connect();
  try {
    await g.call('Open', { ...S(s), TableName: table, ...format, InsertOption: limits });
    await g.call('Write', { ...S(s), Rows: lines.map(line) });
    return await g.call('Close', { session: { ID: s }, MaxErrorRows: -1 });
  } finally {
    await g.call('Disconnect', { ID: s }).catch(() => {});
  }
}

test('csv: a \\. line is a format error of that row; the rows after it are loaded', async () => {
  await g.query('CREATE TABLE m_csv (id int, name text)');
  const st = await loadLines('m_csv', { csv: { delimiter: ',' } }, ['1,a', '\\.', '2,b', '3,c']);
  assert.deepEqual([st.SuccessCount, st.ErrorCount], ['3', '1']);
  assert.equal(st.ErrorRows.length, 1);
  assert.match(st.ErrorRows[0], /^row 2: .*end-of-copy marker/);
  const { rows } = await g.query('SELECT id, name FROM m_csv ORDER BY id');
  assert.deepEqual(rows, [
    { id: 1, name: 'a' },
    { id: 2, name: 'b' },
    { id: 3, name: 'c' },
  ]);
});

test('csv: a quoted "\\." and \\. inside a quoted multi-line value are data; an unterminated quote is a row error', async () => {
  await g.query('CREATE TABLE m_q (id int, name text)');
  const st = await loadLines('m_q', { csv: {} }, ['1,"\\."', '2,"x\n\\.\ny"', '3,"open', '4,d', '5,\\.x']);
  assert.deepEqual([st.SuccessCount, st.ErrorCount], ['4', '1']);
  assert.match(st.ErrorRows[0], /^row 3: .*unterminated quote/);
  const { rows } = await g.query('SELECT id, name FROM m_q ORDER BY id');
  assert.deepEqual(rows, [
    { id: 1, name: '\\.' },
    { id: 2, name: 'x\n\\.\ny' },
    { id: 4, name: 'd' },
    { id: 5, name: '\\.x' },
  ]);
});

test('delimited: \\. anywhere (unescaped) and a trailing lone backslash are row errors; \\\\. is data', async () => {
  await g.query('CREATE TABLE m_txt (id int, name text)');
  const st = await loadLines('m_txt', { delimited: { delimiter: '|' } }, ['1|a\\.', '\\.', '2|b\\', '3|c', '4|d\\\\.']);
  assert.deepEqual([st.SuccessCount, st.ErrorCount], ['2', '3']);
  assert.match(st.ErrorRows[0], /^row 1: .*end-of-copy marker/);
  assert.match(st.ErrorRows[1], /^row 2: .*end-of-copy marker/);
  assert.match(st.ErrorRows[2], /^row 3: .*lone backslash/);
  const { rows } = await g.query('SELECT id, name FROM m_txt ORDER BY id');
  assert.deepEqual(rows, [
    { id: 3, name: 'c' },
    { id: 4, name: 'd\\.' },
  ]);
});

test('\\. rows count against the error limit: the load is aborted and nothing is committed', async () => {
  await g.query('CREATE TABLE m_lim (id int, name text)');
  const s = await g.connect();
  try {
    await g.call('Open', { ...S(s), TableName: 'm_lim', csv: {}, InsertOption: { ErrorLimitCount: 2 } });
    await assert.rejects(g.call('Write', { ...S(s), Rows: ['1,a', '\\.', '2,b', '\\.', '3,c'].map(line) }), (err) => {
      assert.equal(err.code, status.ABORTED, err.details);
      assert.match(err.details, /error limit reached.*end-of-copy marker/);
      return true;
    });
    await g.call('Close', { session: { ID: s }, Abort: true });
  } finally {
    await g.call('Disconnect', { ID: s }).catch(() => {});
  }
  assert.equal(await g.count('m_lim'), 0);
});

test('rawLineProblem follows PostgreSQL line reading (unit)', () => {
  const csv = rawLineSyntax({ kind: 'csv' });
  const txt = rawLineSyntax({ kind: 'delimited' });
  const p = (s, syn) => rawLineProblem(Buffer.from(s), syn);
  assert.match(p('\\.', csv), /end-of-copy/);
  assert.match(p('1,a\n\\.', csv), /end-of-copy/); // an unquoted line break starts a new COPY line
  assert.equal(p('1,"a\n\\."', csv), null);
  assert.equal(p('\\.x', csv), null);
  assert.equal(p('1,a\\.', csv), null);
  assert.match(p('1,"a', csv), /unterminated/);
  assert.equal(p('1,"a""b"', csv), null);
  // ESCAPE differing from QUOTE: \" inside quotes does not end the quoted field.
  const esc = rawLineSyntax({ kind: 'csv', escape: '\\' });
  assert.equal(p('1,"a\\"b"', esc), null);
  assert.match(p('1,"a\\"', esc), /unterminated/);
  assert.match(p('a\\.b', txt), /end-of-copy/);
  assert.equal(p('a\\\\.b', txt), null);
  assert.match(p('a\\', txt), /lone backslash/);
  assert.equal(p('a\\\\', txt), null);
  assert.equal(p('a\\tb', txt), null);
});
