'use strict';
// Packaging check: what `npm pack` publishes, and that the tarball installed into a fresh
// Node-RED userDir registers all eight node types with no warnings and serves the dialogs'
// shared script from its resources/ folder.
// `--ignore-scripts` skips `prepack` (a clean rebuild that would delete dist/ under tests running
// beside us); `npm test` has just built dist/, so the tarball holds the current build.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startTestNodeRed, REPO } = require('./support/nodered');
const { usePostgres } = require('./support/pg');

const pkg = require('../package.json');
const TYPES = Object.keys(pkg['node-red'].nodes);
const pg = usePostgres();
const NPM_ENV = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

function npm(args, cwd) {
  return execFileSync('npm', args, { cwd, env: NPM_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

test('npm pack publishes only dist/, proto/, examples/, resources/, README, LICENSE and package.json', () => {
  const [result] = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'], REPO));
  const files = result.files.map((f) => f.path).sort();
  const allowed = /^(dist\/|proto\/|examples\/|resources\/|README\.md$|LICENSE$|package\.json$)/;
  assert.deepEqual(files.filter((f) => !allowed.test(f)), [], 'files outside the allowed set');
  const forbidden = files.filter((f) => /oss-emulator|devstack|(^|\/)test\/|bench\/|\.map$|tsbuildinfo|\.test\.js$/.test(f));
  assert.deepEqual(forbidden, [], 'emulator, devstack, tests, benchmarks or build leftovers would be published');
  for (const type of TYPES) {
    assert.ok(files.includes(`dist/nodes/${type}.js`), `dist/nodes/${type}.js not packed`);
    assert.ok(files.includes(`dist/nodes/${type}.html`), `dist/nodes/${type}.html not packed`);
  }
  for (const required of ['README.md', 'LICENSE', 'package.json', 'proto/gpss.proto', 'resources/editor-common.js']) {
    assert.ok(files.includes(required), `${required} not packed`);
  }
  assert.ok(files.some((f) => /^examples\/.+\.json$/.test(f)), 'no examples packed');
  assert.ok(files.some((f) => /^dist\/nodes\/locales\/en-US\/.+\.json$/.test(f)), 'no locales packed');
  assert.ok(files.some((f) => /^dist\/nodes\/icons\/.+\.svg$/.test(f)), 'no icons packed');
});

test('published code requires only Node built-ins, runtime dependencies and files that are published too', () => {
  const { builtinModules } = require('node:module');
  const [result] = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'], REPO));
  const packed = new Set(result.files.map((f) => f.path));
  const deps = new Set(Object.keys(pkg.dependencies || {}));
  const problems = [];
  for (const file of [...packed].filter((f) => f.endsWith('.js'))) {
    const source = fs.readFileSync(path.join(REPO, file), 'utf8');
    for (const m of source.matchAll(/require\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1];
      if (spec.startsWith('.')) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
        const candidates = [target, `${target}.js`, `${target}/index.js`, `${target}.json`];
        if (!candidates.some((c) => packed.has(c))) problems.push(`${file}: ${spec} is not published`);
        continue;
      }
      const bare = spec.replace(/^node:/, '');
      if (spec.startsWith('node:') || builtinModules.includes(bare) || builtinModules.includes(bare.split('/')[0])) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (!deps.has(name)) problems.push(`${file}: requires ${name}, not a runtime dependency`);
    }
  }
  assert.deepEqual(problems, []);
});

// The tarball, packed and installed once into a fresh userDir (as `npm install` in ~/.node-red would).
let work = '';
let userDir = '';
before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-pack-'));
  const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', work], REPO).trim().split('\n').pop();
  userDir = path.join(work, 'userDir');
  fs.mkdirSync(userDir);
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', version: '0.0.1', private: true }));
  npm(['install', '--prefer-offline', '--omit=dev', '--no-audit', '--no-fund', path.join(work, tarball)], userDir);
});
after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the packed tarball installed into a fresh userDir registers all eight node types with no warnings', async (t) => {
  const installed = path.join(userDir, 'node_modules', '@gpflow', 'node-red-greenplum');
  assert.ok(fs.existsSync(path.join(installed, 'package.json')), 'package not installed');
  assert.ok(!fs.lstatSync(installed).isSymbolicLink(), 'installed a link, not the tarball');
  assert.ok(!fs.existsSync(path.join(installed, 'src')), 'sources were packed');

  const red = await startTestNodeRed({ userDir, link: false });
  t.after(() => red.cleanup());
  const sets = (await red.getNodeSets()).filter((s) => s.module === pkg.name);
  assert.deepEqual(sets.map((s) => s.name).sort(), [...TYPES].sort());
  for (const set of sets) {
    assert.equal(set.err, undefined, `${set.name}: ${set.err}`);
    assert.equal(set.enabled, true, `${set.name} not enabled`);
    assert.equal(set.local, true, `${set.name} not loaded from the userDir's node_modules`);
  }
  assert.deepEqual(sets.flatMap((s) => s.types).sort(), [...TYPES].sort());
  // The module's examples are served by the runtime.
  const examples = await red.request('GET', `/library/examples/flows/${pkg.name}/`);
  assert.equal(examples.status, 200);
  assert.ok(examples.json().length > 0, 'no examples listed');
  // Every dialog loads the shared editor script by a URL the runtime serves from the installed
  // package's resources/ folder (relative to the editor, as the editor requests it).
  const editorHtml = await red.request('GET', '/nodes', undefined, { Accept: 'text/html' });
  assert.equal(editorHtml.status, 200);
  const perSet = editorHtml.body.split(/(?=<!-- --- \[red-module:\S+\] --- -->)/).filter((c) => c.includes(`[red-module:${pkg.name}/`));
  assert.equal(perSet.length, TYPES.length, 'one editor HTML per node set');
  const srcs = new Set();
  for (const chunk of perSet) {
    const src = /<script[^>]*\ssrc="([^"]+)"/.exec(chunk);
    assert.ok(src, `no shared script in ${chunk.slice(0, 80)}`);
    srcs.add(src[1]);
  }
  assert.deepEqual([...srcs], [`resources/${pkg.name}/editor-common.js`]);
  const script = await red.request('GET', `/${[...srcs][0]}`);
  assert.equal(script.status, 200, `GET /${[...srcs][0]}`);
  assert.equal(script.body, fs.readFileSync(path.join(installed, 'resources', 'editor-common.js'), 'utf8'));
  assert.equal(script.body, fs.readFileSync(path.join(REPO, 'resources', 'editor-common.js'), 'utf8'));

  const log = red.readLog();
  // Two warnings every fresh userDir gets from Node-RED itself, unrelated to any package.
  const runtimeOwn = /Projects disabled|Encrypted credentials not found/;
  const bad = log.split('\n').filter((l) => /\[(warn|error)\]/.test(l) && !runtimeOwn.test(l));
  assert.deepEqual(bad, [], `Node-RED warned while loading the package:\n${bad.join('\n')}`);
  assert.match(log, /Started flows/);
});

test('the installed package is usable from code: main and types name the public API, and the README example runs', () => {
  const installed = path.join(userDir, 'node_modules', '@gpflow', 'node-red-greenplum');
  const installedPkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
  assert.ok(fs.existsSync(path.join(installed, installedPkg.main)), `main ${installedPkg.main} not packed`);
  const types = fs.readFileSync(path.join(installed, installedPkg.types), 'utf8');
  for (const name of ['GpssClient', 'startGpssServer', 'exportQueryToOss', 'importFromOss', 'createRowEncoder', 'GpssServerOptions', 'OssTransferStats']) {
    assert.match(types, new RegExp(`\\b${name}\\b`), `${name} missing from ${installedPkg.types}`);
  }
  // The README's example, run by a separate Node process from the userDir: the package and its
  // runtime dependencies resolve from the installed tarball, not from this repository.
  const script = `
    const { startGpssServer, GpssClient, createRowEncoder, exportQueryToOss, importFromOss } = require('@gpflow/node-red-greenplum');
    const { Client } = require('pg');
    (async () => {
      const login = JSON.parse(process.env.LOGIN);
      const db = new Client({ connectionString: process.env.DATABASE_URL });
      await db.connect();
      await db.query('CREATE TABLE readings (id int, value float8)');
      const server = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: process.env.DATABASE_URL });
      const client = new GpssClient({ host: server.host, port: server.port });
      const session = await client.connect(login);
      const encoder = createRowEncoder(await client.describeTable(session, 'public', 'readings'));
      await client.open(session, { table: 'readings', mode: 'insert' });
      await client.write(session, [encoder.encodeObject({ id: 1, value: 21.5 })]);
      const stats = await client.close(session);
      await client.disconnect(session);
      client.shutdown();
      await server.stop();
      const { rows } = await db.query('SELECT id, value FROM readings');
      await db.end();
      console.log(JSON.stringify({ stats, rows, oss: [typeof exportQueryToOss, typeof importFromOss] }));
    })().catch((err) => { console.error(err); process.exit(1); });`;
  const login = { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: pg.database };
  const out = execFileSync(process.execPath, ['-e', script], {
    cwd: userDir, encoding: 'utf8', timeout: 60_000,
    env: { ...process.env, NODE_PATH: '', DATABASE_URL: pg.url, LOGIN: JSON.stringify(login) },
  });
  assert.deepEqual(JSON.parse(out.trim().split('\n').pop()), {
    stats: { successCount: 1, errorCount: 0, errorRows: [] },
    rows: [{ id: 1, value: 21.5 }],
    oss: ['function', 'function'],
  });
});
