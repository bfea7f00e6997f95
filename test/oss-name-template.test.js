'use strict';
// Time parts in export object names (src/oss/name-template.ts).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { expandNameTemplate, checkNameTemplate } = require('../dist/oss/name-template');

const AT = new Date(Date.UTC(2026, 0, 5, 7, 8, 9));

test('time parts are filled in (UTC, zero-padded); text without placeholders is unchanged', () => {
  assert.equal(expandNameTemplate('exports/{{yyyy}}/{{MM}}/{{dd}}/{{HH}}/', AT), 'exports/2026/01/05/07/');
  assert.equal(expandNameTemplate('t{{HH}}{{mm}}{{ss}}', AT), 't070809');
  assert.equal(expandNameTemplate('{{ yyyy }}-{{MM}}', AT), '2026-01', 'spaces inside the braces are allowed');
  assert.equal(expandNameTemplate('plain/prefix/', AT), 'plain/prefix/');
  // MM is the month, mm the minute.
  assert.equal(expandNameTemplate('{{MM}}{{mm}}', new Date(Date.UTC(2026, 10, 1, 0, 42))), '1142');
});

test('an unknown part is an error naming it and the field', () => {
  assert.throws(() => checkNameTemplate('x/{{YYYY}}/', 'prefix'), /unknown time part \{\{YYYY\}\} in prefix/);
  assert.throws(() => expandNameTemplate('{{date}}', AT, 'object name'), /unknown time part \{\{date\}\} in object name/);
  assert.doesNotThrow(() => checkNameTemplate('a/{{yyyy}}{{MM}}{{dd}}{{HH}}{{mm}}{{ss}}', 'prefix'));
});

test('an invalid date is refused', () => {
  assert.throws(() => expandNameTemplate('{{yyyy}}', new Date(NaN)), /not a valid date/);
});
