'use strict';
// Smoke test of the harness itself: a real PostgreSQL, COPY of 10,000 rows through
// pg-copy-streams, counted back.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { pipeline } = require('node:stream/promises');
const { Readable } = require('node:stream');
const { Client } = require('pg');
const { from: copyFrom } = require('pg-copy-streams');
const { usePostgres } = require('./support/pg');

const pg = usePostgres();

test('COPY 10,000 rows with pg-copy-streams into a real PostgreSQL and count them', async () => {
  const client = new Client({ connectionString: pg.url });
  await client.connect();
  try {
    await client.query('CREATE TABLE smoke (id int8 PRIMARY KEY, label text, at timestamp)');
    function* lines() {
      let chunk = '';
      for (let i = 1; i <= 10000; i++) {
        chunk += `${i}\trow ${i}\t2026-11-22 10:00:${String(i % 60).padStart(2, '0')}\n`;
        if (chunk.length > 65536) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    }
    await pipeline(Readable.from(lines()), client.query(copyFrom('COPY smoke FROM STDIN')));
    const { rows } = await client.query('SELECT count(*)::int AS n, sum(id)::int8 AS s, max(label) AS m FROM smoke');
    assert.equal(rows[0].n, 10000);
    assert.equal(rows[0].s, String((10000 * 10001) / 2));
    assert.equal(rows[0].m, 'row 9999');
  } finally {
    await client.end();
  }
});

test('the fixture gives each test file its own database on 127.0.0.1', async () => {
  const client = new Client({ connectionString: pg.url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT current_database() AS db, inet_server_addr()::text AS addr');
    assert.equal(rows[0].db, pg.database);
    assert.match(rows[0].addr, /^127\.0\.0\.1/);
  } finally {
    await client.end();
  }
});
