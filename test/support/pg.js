'use strict';
// PostgreSQL fixture for tests. Uses TEST_DATABASE_URL when set (the test runner sets
// it to one throwaway cluster per run); otherwise starts its own throwaway cluster.
// Either way each test file gets a fresh database of its own, dropped afterwards.
const { before, after } = require('node:test');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { Client } = require('pg');
const { spawnSync } = require('node:child_process');
const { startPostgres, findPostgresBinDir } = require('../../dist/devstack/postgres');

function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = '/' + database;
  return u.toString();
}

async function adminQuery(url, sql) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Starts a throwaway cluster in a temp dir (fsync off, free loopback port). options.password
 * sets the superuser's password; options.durable keeps fsync and synchronous_commit on (needed
 * when a test crashes the server: with them off, an immediate shutdown loses acknowledged commits). restart('fast' | 'immediate') restarts it on the same port
 * (the chaos suite's PostgreSQL faults).
 */
async function startThrowawayCluster(options = {}) {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-pg-'));
  const cluster = await startPostgres({ dataDir: path.join(parent, 'data'), fast: options.durable !== true, password: options.password });
  return {
    url: cluster.url,
    cluster,
    restart(mode = 'fast') {
      const pgCtl = path.join(findPostgresBinDir(), 'pg_ctl');
      const args = ['-D', cluster.dataDir, '-m', mode, '-w', '-t', '60', 'restart', '-l', path.join(cluster.dataDir, 'server.log')];
      const isRoot = process.getuid && process.getuid() === 0;
      const r = isRoot ? spawnSync('runuser', ['-u', 'postgres', '--', pgCtl, ...args], { encoding: 'utf8' }) : spawnSync(pgCtl, args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`pg_ctl restart -m ${mode} failed: ${(r.stderr || r.stdout || '').trim()}`);
    },
    stop() {
      cluster.stop({ removeData: true });
      fs.rmSync(parent, { recursive: true, force: true });
    },
  };
}

/**
 * Registers before/after hooks and returns a handle whose fields are filled in `before`:
 * url (a fresh database), serverUrl (the cluster's postgres database), host, port, user, password.
 */
function usePostgres() {
  const handle = { url: '', serverUrl: '', host: '', port: 0, user: '', password: '', database: '' };
  let own = null;
  before(async () => {
    let serverUrl = process.env.TEST_DATABASE_URL;
    if (!serverUrl) {
      own = await startThrowawayCluster();
      const cluster = own;
      process.on('exit', () => cluster.stop());
      serverUrl = own.url;
    }
    const database = 't_' + crypto.randomBytes(6).toString('hex');
    await adminQuery(serverUrl, `CREATE DATABASE ${database}`);
    const u = new URL(serverUrl);
    Object.assign(handle, {
      serverUrl,
      url: withDatabase(serverUrl, database),
      database,
      host: u.hostname,
      port: Number(u.port || 5432),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
    });
  });
  after(async () => {
    // Never terminate connections here: a test's idle pool client would see
    // "terminating connection due to administrator command" as an uncaught error.
    // The run's own cluster (scripts/test.js) and a file's own cluster are removed
    // whole at process exit; on a server given by the user, drop politely.
    if (handle.database && !own && !process.env.GPFLOW_TEST_CLUSTER_OWNED) {
      await adminQuery(handle.serverUrl, `DROP DATABASE IF EXISTS ${handle.database}`).catch((err) => {
        process.stderr.write(`note: test database ${handle.database} left in place (${err.message})\n`);
      });
    }
  });
  return handle;
}

module.exports = { usePostgres, startThrowawayCluster, withDatabase, adminQuery };
