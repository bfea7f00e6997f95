'use strict';
// CPU accounting for the benchmarks. Rows/s depend on what else the (shared, 2-core) machine
// runs; CPU seconds per row much less, and they say what each process would need on cores of
// its own. Linux /proc only: elsewhere every figure is 0 (and printed as such).
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  // keep the Linux default
}

/** Fields after the command name of /proc/<pid>/stat (field 3 = state is index 0), or null. */
function statFields(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** User + system CPU seconds of a process so far (0 where unavailable). */
function procCpu(pid) {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / clockTicks : 0;
}

/**
 * CPU seconds of a whole PostgreSQL cluster so far: the postmaster with its reaped children
 * (backends that ended count there) plus every live child (backends, walwriter, checkpointer…).
 */
function clusterCpu(postmasterPid) {
  const pm = statFields(postmasterPid);
  if (!pm) return 0;
  let ticks = Number(pm[11]) + Number(pm[12]) + Number(pm[13]) + Number(pm[14]);
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    if (f && Number(f[1]) === postmasterPid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / clockTicks;
}

/** The postmaster's pid of the cluster a pg client is connected to (its backend's parent), or 0. */
async function postmasterOf(client) {
  const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
  const f = statFields(rows[0].pid);
  return f ? Number(f[1]) : 0;
}

/** Peak resident set size (VmHWM) of a process in MiB, 0 where unavailable. */
function peakRssMiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** Resets a process's VmHWM to its current RSS (Linux ≥ 4.0; needs the right to write it). */
function resetPeakRss(pid) {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a meter over named CPU sources (functions returning cumulative CPU seconds);
 * the returned stop() gives the seconds each used since.
 */
function cpuMeter(sources) {
  const start = Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, f()]));
  return () => Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, f() - start[k]]));
}

/** CPU seconds of this process so far (all threads). */
function selfCpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

module.exports = { procCpu, clusterCpu, postmasterOf, peakRssMiB, resetPeakRss, cpuMeter, selfCpu };
