#!/usr/bin/env node
// `npm test`: build, start one throwaway PostgreSQL cluster for the whole run (unless
// TEST_DATABASE_URL is set), run `node --test` over test/**/*.test.js, stop the cluster.
// Arguments filter test files by substring: `npm test -- gpss-server`.
// `--chaos` (`npm run test:chaos`) runs the fault and fuzz suites under test/chaos/ instead,
// which `npm test` leaves out: they take minutes and restart their own PostgreSQL. Their
// figures go to RELIABILITY_OUT (default: a fresh temp dir) for `npm run reliability`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const build = spawnSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status || 1);

function findTests(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(full));
    else if (entry.name.endsWith('.test.js')) out.push(full);
  }
  return out.sort();
}

const args = process.argv.slice(2);
const chaos = args.includes('--chaos');
const filters = args.filter((a) => !a.startsWith('-'));
const passThrough = args.filter((a) => a.startsWith('-') && a !== '--chaos');
const chaosDir = path.join(root, 'test', 'chaos');
// test/greenplum/ needs a Greenplum cluster: `npm run test:greenplum` runs it.
const greenplumDir = path.join(root, 'test', 'greenplum');
let files = findTests(path.join(root, 'test')).filter((f) => f.startsWith(chaosDir + path.sep) === chaos && !f.startsWith(greenplumDir + path.sep));
if (filters.length) files = files.filter((f) => filters.some((s) => path.relative(root, f).includes(s)));
if (!files.length) {
  console.error('test: no test files matched', filters.join(' '));
  process.exit(1);
}

(async () => {
  const { startThrowawayCluster } = require('../test/support/pg');
  let cluster = null;
  const env = { ...process.env };
  if (chaos && !env.RELIABILITY_OUT) env.RELIABILITY_OUT = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'gpflow-chaos-'));
  if (chaos) console.log(`test: chaos figures and artifacts in ${env.RELIABILITY_OUT}`);
  if (!env.TEST_DATABASE_URL && !chaos) {
    const t0 = Date.now();
    cluster = await startThrowawayCluster();
    env.TEST_DATABASE_URL = cluster.url;
    env.GPFLOW_TEST_CLUSTER_OWNED = '1';
    console.log(`test: throwaway PostgreSQL cluster ready in ${Date.now() - t0} ms`);
  }
  const stop = () => {
    if (cluster) cluster.stop();
    cluster = null;
  };
  const child = spawn(
    process.execPath,
    // Chaos files leave no test running but may leave pooled sockets of killed or restarted
    // servers to time out: do not wait for them.
    ['--test', '--test-concurrency=1', '--test-timeout=900000', ...(chaos ? ['--test-force-exit'] : []), ...passThrough, ...files.map((f) => path.relative(root, f))],
    { stdio: 'inherit', env, cwd: root },
  );
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      child.kill(signal);
    });
  }
  child.on('exit', (code, signal) => {
    stop();
    process.exit(code ?? (signal ? 1 : 0));
  });
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
