'use strict';
// gpss-pg's per-server SQL: what PostgreSQL 9.4 inside Greenplum 6 lacks is never used there
// (test/greenplum/gpss-pg.test.js runs it against a real Greenplum).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { traitsFor, serverTraits } = require('../dist/gpss-server/server-traits');
const { buildCreateStaging } = require('../dist/gpss-server/sql');
const { usePostgres } = require('./support/pg');
const { Client } = require('pg');

const pg = usePostgres();

test('traitsFor: Greenplum 6 (9.4) has none of RLS, generated and identity columns', () => {
  assert.deepEqual(traitsFor(90426, true), {
    versionNum: 90426, greenplum: true, rowSecurity: false, generatedColumns: false, identityColumns: false,
  });
  assert.deepEqual(traitsFor(150004, false), {
    versionNum: 150004, greenplum: false, rowSecurity: true, generatedColumns: true, identityColumns: true,
  });
  assert.equal(traitsFor(110000, false).generatedColumns, false);
  assert.equal(traitsFor(100000, false).identityColumns, true);
});

test('buildCreateStaging: identity on PostgreSQL 10+, bigserial distributed by the arrival number on Greenplum', () => {
  const cols = [{ name: 'k', sqlType: 'integer' }, { name: 'v"x', sqlType: 'text' }];
  assert.equal(buildCreateStaging('s1', cols, { identityColumns: true, greenplum: false }),
    'CREATE TEMP TABLE "s1" (_gpss_seq bigint GENERATED ALWAYS AS IDENTITY, "k" integer, "v""x" text) ON COMMIT DROP');
  assert.equal(buildCreateStaging('s1', cols, traitsFor(90426, true)),
    'CREATE TEMP TABLE "s1" (_gpss_seq bigserial, "k" integer, "v""x" text) ON COMMIT DROP DISTRIBUTED BY (_gpss_seq)');
  assert.equal(buildCreateStaging('s1', cols), buildCreateStaging('s1', cols, { identityColumns: true, greenplum: false }), 'default unchanged');
});

test('buildCreateStaging in a StagingSchema: unlogged on PostgreSQL, an ordinary table distributed by the arrival number on Greenplum 6', () => {
  const cols = [{ name: 'k', sqlType: 'integer' }];
  const ref = { schema: 'Stage', name: 's1' };
  assert.equal(buildCreateStaging(ref, cols, traitsFor(150004, false)),
    'CREATE UNLOGGED TABLE "Stage"."s1" (_gpss_seq bigint GENERATED ALWAYS AS IDENTITY, "k" integer)');
  // Greenplum 6.24.3 refuses UNLOGGED with a bigserial: "unlogged sequences are not supported".
  assert.equal(buildCreateStaging(ref, cols, traitsFor(90426, true)),
    'CREATE TABLE "Stage"."s1" (_gpss_seq bigserial, "k" integer) DISTRIBUTED BY (_gpss_seq)');
});

test('serverTraits reads the real server once per connection', async () => {
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  try {
    const a = await serverTraits(c);
    assert.equal(a.greenplum, false);
    assert.ok(a.versionNum >= 130000 && a.rowSecurity && a.generatedColumns);
    assert.equal(await serverTraits(c), a, 'cached for the connection');
  } finally {
    await c.end();
  }
});
