'use strict';
// checkExternalExportWrote: oss_ext can report `INSERT 0 n` with nothing uploaded, so external
// exports verify what is under the prefix before reporting success.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { checkExternalExportWrote } = require('../dist/oss');

const where = 'exp/ext_sales_abc123*';

test('no object for a non-empty result is an error naming the count and the prefix', () => {
  assert.throws(() => checkExternalExportWrote({ rows: 1000, objects: [], gzip: false, where }),
    /oss_ext reported 1000 row\(s\) exported but no object exists under exp\/ext_sales_abc123\*/);
});

test('fewer bytes than the rows can take is an error; plain: one byte per row at least', () => {
  assert.throws(() => checkExternalExportWrote({ rows: 1000, objects: [{ key: 'a', size: 0 }, { key: 'b', size: 999 }], gzip: false, where }),
    /2 object\(s\) under .* hold only 999 byte\(s\), fewer than 1000 row\(s\) can take/);
  checkExternalExportWrote({ rows: 1000, objects: [{ key: 'a', size: 400 }, { key: 'b', size: 600 }], gzip: false, where });
});

test('gzip: the bound allows DEFLATE\'s best ratio, but an empty or header-only object is still an error', () => {
  // 1 M identical rows compress to about a kilobyte.
  checkExternalExportWrote({ rows: 1_000_000, objects: [{ key: 'a', size: 1010 }], gzip: true, where });
  assert.throws(() => checkExternalExportWrote({ rows: 10, objects: [{ key: 'a', size: 0 }], gzip: true, where }), /hold only 0 byte/);
  assert.throws(() => checkExternalExportWrote({ rows: 10, objects: [{ key: 'a', size: 10 }, { key: 'b', size: 10 }], gzip: true, where }), /hold only 20 byte/);
});

test('an empty result needs no object', () => {
  checkExternalExportWrote({ rows: 0, objects: [], gzip: true, where });
});
