'use strict';
// The pure part of the query library: the SQL scan (parameters, statements, first keywords,
// what is skipped as data or comment) and msg.params binding with named parameters rewritten
// to positional ones, and the error text of a failed query.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { scanSql, bindParameters, cursorQueryText, describeQueryError, lineAt } = require('../dist/query');

const names = (sql) => scanSql(sql).params.map((p) => (p.kind === 'named' ? `$${p.name}` : `$${p.index}`));

test('scan: positional and named parameters, in order, with their offsets', () => {
  const sql = 'SELECT * FROM t WHERE a = $1 AND b = $device AND c = $12';
  assert.deepEqual(names(sql), ['$1', '$device', '$12']);
  const [p1, named] = scanSql(sql).params;
  assert.equal(sql.slice(p1.start, p1.end), '$1');
  assert.equal(sql.slice(named.start, named.end), '$device');
});

test('scan: nothing inside strings, quoted identifiers, comments or dollar quotes is a parameter', () => {
  const cases = [
    "SELECT '$a', 'it''s $b' FROM t",
    `SELECT "$c", "x""$d" FROM t`,
    'SELECT 1 -- $e here\n',
    'SELECT /* $f /* nested $g */ still $h */ 1',
    'SELECT $$ $i $$, $body$ $j $body$',
    "SELECT E'\\' $k'",
    'SELECT $tag$ don\'t $l $tag$',
  ];
  for (const sql of cases) assert.deepEqual(names(sql), [], sql);
  // A parameter after each of them is found.
  for (const sql of cases) assert.deepEqual(names(`${sql.replace(/\n$/, '')}\n, $x`), ['$x'], sql);
});

test("scan: '::type' casts, '$' inside identifiers and a standard string's backslash", () => {
  assert.deepEqual(names('SELECT $since::timestamptz, $1::int, \'a\'::text'), ['$since', '$1']);
  assert.deepEqual(names('SELECT price$usd, a$1 FROM t'), [], 'a "$" continuing an identifier is not a parameter');
  // standard_conforming_strings: in '…' a backslash is an ordinary character, so the string ends at the quote after it.
  assert.deepEqual(names("SELECT 'C:\\' , $p"), ['$p']);
  // e'…' is an escape string; a word ending in e before a quote is not ("name'" does not occur, but "some'…" must not be read as E'…').
  assert.deepEqual(names("SELECT e'\\'', $q"), ['$q']);
});

test('scan: statements split at ";" outside parentheses, quotes and comments, each with its first keyword', () => {
  const s = scanSql("CREATE TABLE t (a int); -- done\nINSERT INTO t VALUES (1); ; /* only a comment */ ;\n (SELECT ';' FROM t);");
  assert.deepEqual(s.statements.map((x) => x.keyword), ['CREATE', 'INSERT', 'SELECT']);
  assert.deepEqual(scanSql('CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))').statements.length, 1);
  assert.deepEqual(scanSql('  -- nothing\n').statements, []);
  assert.deepEqual(scanSql('with x as (select 1) select * from x').statements.map((x) => x.keyword), ['WITH']);
});

test('bind: no parameters, positional from an array, named from an object', () => {
  assert.deepEqual(strip(bindParameters('SELECT 1', undefined)), { text: 'SELECT 1', values: [] });
  assert.deepEqual(strip(bindParameters('SELECT 1', [])), { text: 'SELECT 1', values: [] });
  assert.deepEqual(strip(bindParameters('SELECT 1', null)), { text: 'SELECT 1', values: [] });
  assert.deepEqual(strip(bindParameters('SELECT $1, $2', ['a', 2])), { text: 'SELECT $1, $2', values: ['a', 2] });
  assert.deepEqual(strip(bindParameters('SELECT $b, $a, $b::int', { a: 1, b: '2', unused: 3 })), { text: 'SELECT $1, $2, $1::int', values: ['2', 1] });
  // Named rewrite leaves data and comments alone.
  assert.deepEqual(strip(bindParameters("SELECT '$a' /* $a */, $a -- $a", { a: 7 })), { text: "SELECT '$a' /* $a */, $1 -- $a", values: [7] });
  // A key that is present with undefined counts as given (node-postgres sends NULL).
  assert.deepEqual(bindParameters('SELECT $a', { a: undefined }).values, [undefined]);
});

test('bind: what does not fit is refused naming the parameter, the field and the type', () => {
  const refused = (sql, params, re) =>
    assert.throws(() => bindParameters(sql, params), (e) => e.name === 'SettingError' && e.code === 'QUERY_INPUT' && e.field === 'msg.params' && re.test(e.message), `${sql} ${JSON.stringify(params)}`);
  refused('SELECT $1', 'abc', /must be an array \(for \$1, \$2, …\) or an object \(for \$name\); got a string/);
  refused('SELECT $1', 42, /got a number/);
  refused('SELECT $1', new Date(0), /got a Date/);
  refused('SELECT $1', Buffer.from('x'), /got a Buffer/);
  refused('SELECT $1, $2', ['a'], /uses \$2 but msg\.params has 1 value$/);
  refused('SELECT $1', ['a', 'b'], /has 2 values but the query uses only \$1…\$1/);
  refused('SELECT 1', ['a'], /the query has no parameters/);
  refused('SELECT $1', undefined, /uses \$1 but msg\.params is not set/);
  refused('SELECT $device', ['a'], /named parameters \(\$device\): msg\.params must be an object/);
  refused('SELECT $1', { a: 1 }, /is an object \(named parameters\) but the query uses \$1/);
  refused('SELECT $a, $b', { a: 1 }, /no value for \$b in msg\.params \(it has "a"\)/);
  refused('SELECT $constructor', {}, /no value for \$constructor/);
  assert.throws(() => bindParameters('SELECT $1; SELECT 2', [1]), (e) => e.field === 'msg.query' && /single statement; this one has 2/.test(e.message));
});

test('cursorQueryText: one SELECT/VALUES/TABLE/WITH, its trailing ";" dropped; other statements refused', () => {
  const q = (text) => ({ text, values: [], scan: scanSql(text) });
  assert.equal(cursorQueryText(q('SELECT * FROM t;  ')), 'SELECT * FROM t');
  assert.equal(cursorQueryText(q('(VALUES (1), (2))')), '(VALUES (1), (2))');
  assert.equal(cursorQueryText(q('-- lead\nWITH x AS (SELECT 1) SELECT * FROM x')), '-- lead\nWITH x AS (SELECT 1) SELECT * FROM x');
  assert.throws(() => cursorQueryText(q('INSERT INTO t VALUES (1) RETURNING *')), /starts with INSERT: run it with the output "all rows in one message"/);
  assert.throws(() => cursorQueryText(q('SELECT 1; SELECT 2')), /one statement; this query has 2/);
});

test('describeQueryError: SQLSTATE, the line of the error position in a multi-line query, DETAIL and HINT', () => {
  const err = Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601', severity: 'ERROR', position: '11' });
  assert.equal(describeQueryError(err, 'SELECT 1;\nSELEC 2'), 'syntax error at or near "SELEC" (SQLSTATE 42601, line 2)');
  assert.equal(describeQueryError(err, 'SELEC 2   '), 'syntax error at or near "SELEC" (SQLSTATE 42601)');
  const dup = Object.assign(new Error('duplicate key value violates unique constraint "t_pkey"'), { code: '23505', severity: 'ERROR', detail: 'Key (id)=(1) already exists.', hint: 'none' });
  assert.equal(describeQueryError(dup, 'INSERT'), 'duplicate key value violates unique constraint "t_pkey" (SQLSTATE 23505); Key (id)=(1) already exists.; hint: none');
  assert.equal(describeQueryError(new Error('plain'), 'x'), 'plain');
  assert.equal(lineAt('a\nb\n😀c', 6), 3, 'positions count characters, as PostgreSQL does');
});

function strip(b) {
  return { text: b.text, values: b.values };
}
