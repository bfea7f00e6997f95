#!/usr/bin/env node
// `npm run bench [name...]`: runs bench/<name>.bench.js (all of them when no name is given),
// each in its own process so that one benchmark's heap and threads do not colour the next.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const all = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith('.bench.js'))
  .map((f) => f.replace(/\.bench\.js$/, ''))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`bench: unknown benchmark(s) ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
// The benchmarks whose peak RSS is a target (Node-RED's process) run a second time with a V8
// heap cap, Node-RED's own advice for memory-limited hosts (`node-red-pi --max-old-space-size=256`):
// both runs print their figures. BENCH_HEAP_CAP=0 skips the capped run, BENCH_HEAP_CAP=<MiB>
// changes the cap.
const CAPPED = new Set(['gpss-nodes']);
const cap = Number(process.env.BENCH_HEAP_CAP ?? 256);
let failed = 0;
for (const name of wanted.length ? wanted : all) {
  const runs = [[]];
  if (CAPPED.has(name) && cap > 0) runs.push([`--max-old-space-size=${cap}`]);
  for (const flags of runs) {
    console.log(`\n== bench ${name}${flags.length ? ` (${flags.join(' ')})` : ''} ==`);
    const r = spawnSync(process.execPath, ['--expose-gc', ...flags, path.join(__dirname, `${name}.bench.js`)], { stdio: 'inherit' });
    if (r.status !== 0) failed++;
  }
}
process.exit(failed ? 1 : 0);
