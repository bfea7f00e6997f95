'use strict';
// Where `npm start` puts PostgreSQL's data: under the stack dir when the postgres OS user can
// reach it, else (root, checkout under a 0700 folder such as /root) a private folder of the
// postgres user under /var/tmp, where a real cluster then initialises and starts.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { Client } = require('pg');
const { choosePostgresDataDir, privateFolderName } = require('../dist/devstack/postgres-place');
const { startPostgres } = require('../dist/devstack/postgres');

const isRoot = process.getuid() === 0;

test('as root from a 0700 root-owned folder: PostgreSQL data goes to a private postgres folder and a cluster starts there', async () => {
  const locked = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-locked-'));
  fs.chmodSync(locked, 0o700);
  const stackDir = path.join(locked, 'project', '.devstack');
  fs.mkdirSync(stackDir, { recursive: true });
  let folder = null;
  try {
    const place = choosePostgresDataDir(stackDir);
    if (!isRoot) {
      // Not root: PostgreSQL runs as us and reaches the stack dir.
      assert.deepEqual(place, { dataDir: path.join(stackDir, 'pg') });
      return;
    }
    folder = path.dirname(place.dataDir);
    assert.equal(path.basename(folder), privateFolderName(stackDir));
    assert.match(place.relocated, new RegExp(`cannot reach .*${path.basename(locked)}.*data is in ${folder}.*GPFLOW_DEVSTACK_DIR`));
    const st = fs.statSync(folder);
    assert.equal(st.uid, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), 'owned by postgres');
    assert.equal(st.mode & 0o777, 0o700, 'private to postgres');
    assert.deepEqual(choosePostgresDataDir(stackDir), place, 'the next start finds the same place');

    const cluster = await startPostgres({ dataDir: place.dataDir, fast: true, password: 'place-test' });
    try {
      const client = new Client({ connectionString: cluster.url });
      await client.connect();
      const { rows } = await client.query('SELECT current_setting($1) AS dir', ['data_directory']);
      await client.end();
      assert.equal(rows[0].dir, place.dataDir);
    } finally {
      cluster.stop({ removeData: true });
    }

    // Once the postgres user can traverse the checkout again, the data stays under the stack dir.
    fs.chmodSync(locked, 0o711);
    assert.deepEqual(choosePostgresDataDir(stackDir), { dataDir: path.join(stackDir, 'pg') });
  } finally {
    fs.rmSync(locked, { recursive: true, force: true });
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
  }
});

test('not root, or the stack dir reachable: data under <stack dir>/pg, nothing created elsewhere', () => {
  const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-roots-'));
  try {
    const never = () => assert.fail('no traversal check expected when not root');
    assert.deepEqual(choosePostgresDataDir('/srv/app/.devstack', { isRoot: false, postgresCanTraverse: never, tempRoots: [tempRoot] }), {
      dataDir: '/srv/app/.devstack/pg',
    });
    assert.deepEqual(choosePostgresDataDir('/srv/app/.devstack', { isRoot: true, postgresCanTraverse: () => true, tempRoots: [tempRoot] }), {
      dataDir: '/srv/app/.devstack/pg',
    });
    assert.deepEqual(fs.readdirSync(tempRoot), []);
  } finally {
    fs.rmSync(tempRoot, { recursive: true, force: true });
  }
});

test('a folder of that name that is a symlink or belongs to another user is refused, not used', () => {
  const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-roots-'));
  const stackDir = '/root/somewhere/.devstack';
  const options = { isRoot: true, postgresCanTraverse: (d) => d === tempRoot, tempRoots: ['/nonexistent-gpflow', tempRoot] };
  const target = path.join(tempRoot, privateFolderName(stackDir));
  try {
    fs.symlinkSync('/etc', target);
    assert.throws(() => choosePostgresDataDir(stackDir, options), /is not a directory of the postgres user; remove it/);
    fs.rmSync(target);
    fs.mkdirSync(target);
    // As root: a folder of nobody; otherwise ours, which is not postgres's either.
    const other = isRoot ? 65534 : process.getuid();
    if (isRoot) fs.chownSync(target, other, other);
    assert.throws(() => choosePostgresDataDir(stackDir, options), /is not a directory of the postgres user/);
    assert.equal(fs.statSync(target).uid, other, 'left as it was');
    fs.rmSync(target, { recursive: true });
    assert.throws(
      () => choosePostgresDataDir(stackDir, { ...options, postgresCanTraverse: () => false }),
      /cannot reach \/root\/somewhere nor any of .*GPFLOW_DEVSTACK_DIR/,
    );
  } finally {
    fs.rmSync(tempRoot, { recursive: true, force: true });
  }
});
