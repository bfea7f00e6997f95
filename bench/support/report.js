'use strict';
// Every benchmark reports the same way: a small table (ours, anchor, ratio) and, as the
// last line, one JSON object that scripts can collect.
const os = require('node:os');

/**
 * @param {string} benchmark name
 * @param {Array<{case: string, unit: string, ours: number, anchor: number, anchorName: string, higherIsBetter?: boolean, extra?: object}>} rows
 */
function report(benchmark, rows) {
  const fmt = (n) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
  const table = rows.map((r) => {
    const higher = r.higherIsBetter !== false;
    const ratio = higher ? r.ours / r.anchor : r.anchor / r.ours;
    return { case: r.case, unit: r.unit, ours: fmt(r.ours), anchor: `${fmt(r.anchor)} (${r.anchorName})`, 'ratio (ours/anchor)': ratio.toFixed(3), ...r.extra };
  });
  const flags = process.execArgv.filter((a) => /^--max-(old|semi)-space-size/.test(a));
  if (flags.length) console.log(`${benchmark} with ${flags.join(' ')}:`);
  console.table(table);
  const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.log(
    JSON.stringify({
      benchmark,
      date: new Date().toISOString().slice(0, 10),
      machine,
      // A heap cap changes memory and GC work: a capped run says so (bench/run.js runs both).
      nodeFlags: process.execArgv.filter((a) => /^--max-(old|semi)-space-size/.test(a)),
      results: rows.map((r) => ({ ...r, ratio: (r.higherIsBetter !== false ? r.ours / r.anchor : r.anchor / r.ours) })),
    }),
  );
}

/** Runs fn `runs` times and returns the best (max) rate: the least disturbed run. */
async function bestOf(runs, fn) {
  let best = 0;
  for (let i = 0; i < runs; i++) {
    if (global.gc) global.gc();
    best = Math.max(best, await fn());
  }
  return best;
}

module.exports = { report, bestOf };
