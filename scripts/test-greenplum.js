#!/usr/bin/env node
// `npm run test:greenplum`: builds Greenplum 6.24.3 + oss_ext from ../shared/greenplum once
// (cached outside the repo by scripts/greenplum/build.sh), starts a coordinator and 2 primary
// segments on loopback, runs test/greenplum/*.test.js against it, stops everything.
// Arguments filter test files by substring, as in `npm test`.
//
// When the sources are absent the suites cannot run: this prints SKIPPED with the reason and
// exits with 77 (the automake "skipped" status), never 0, so nothing counts it as a pass.
// .ci/run turns 77 into a visible "skipped" line and carries on.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const EXIT_SKIPPED = 77;
const root = path.resolve(__dirname, '..');
const {
  greenplumSourcesDir, greenplumSkipReason, buildGreenplum, startGreenplumCluster,
} = require('../test/support/greenplum');

const reason = greenplumSkipReason();
if (reason) {
  console.log(`test:greenplum: SKIPPED, not passed: ${reason}. The Greenplum suites (test/greenplum/) did not run. ` +
    'Put gpdb-6.24.3-src.tar.xz and aliyun_oss_ext-src.tar.gz in ../shared/greenplum beside the repository ' +
    '(or set GPFLOW_GREENPLUM_SOURCES) to run them.');
  process.exit(EXIT_SKIPPED);
}

const build = spawnSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status || 1);

const testDir = path.join(root, 'test', 'greenplum');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('-'));
let files = fs.readdirSync(testDir).filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join('test', 'greenplum', f));
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (!files.length) {
  console.error('test:greenplum: no test files matched', filters.join(' '));
  process.exit(1);
}

(async () => {
  let t = Date.now();
  const prefix = buildGreenplum({ sourcesDir: greenplumSourcesDir() });
  console.log(`test:greenplum: Greenplum + oss_ext at ${prefix} (build or cache lookup ${Date.now() - t} ms)`);
  t = Date.now();
  const cluster = await startGreenplumCluster({ prefix, segments: 2, log: (s) => console.log(s) });
  console.log(`test:greenplum: cluster ready in ${Date.now() - t} ms`);
  process.on('exit', () => cluster.killNow());
  const env = { ...process.env, GREENPLUM_TEST_URL: cluster.url, GREENPLUM_HOME: prefix };
  t = Date.now();
  const child = spawn(
    process.execPath,
    ['--test', '--test-concurrency=1', '--test-timeout=600000', ...passThrough, ...files],
    { stdio: 'inherit', env, cwd: root },
  );
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', async (code, signal) => {
    console.log(`test:greenplum: suites ran in ${Date.now() - t} ms`);
    const ts = Date.now();
    await cluster.stop({ keepData: code !== 0 && !!process.env.GPFLOW_GREENPLUM_KEEP });
    console.log(`test:greenplum: cluster stopped in ${Date.now() - ts} ms`);
    process.exit(code ?? (signal ? 1 : 0));
  });
})().catch((err) => {
  console.error(`test:greenplum: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
