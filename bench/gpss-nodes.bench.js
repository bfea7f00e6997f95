#!/usr/bin/env node
// `npm run bench gpss-nodes`: rows through the real Node-RED runtime (embedded, this package
// linked into a userDir) → gpss-write (stream mode) → gpss-pg → PostgreSQL, with gpss-pg both
// embedded (in-process) and as its own process (remote mode), against two anchors measured in
// the same run on the same rows:
//  1. bulk: 1,000,000 rows as 1,000 messages of 1,000 → vs a direct pg-copy-streams COPY;
//     (each bulk rate is the best of BENCH_RUNS alternating runs: the machine is shared);
//     CPU seconds per million rows of this process (Node-RED, and gpss-pg when embedded), of
//     gpss-pg's own process (remote) and of the PostgreSQL cluster (least of the runs), and
//     peak RSS (kernel high-water mark where readable; highest of the runs); the same rows
//     again with the dialog's defaults (10,000-row commits, a source 30 messages ahead);
//  2. per-message: 200,000 one-row messages → vs one INSERT per message through a pg Pool
//     (what Node-RED users do today), measured on the first ANCHOR_INSERTS messages because
//     200,000 single-row INSERTs take minutes. Peak RSS of each run is sampled every 50 ms.
//     A Complete node listens on gpss-write (as the README suggests; PM_COMPLETE=0 leaves it out).
//     Second anchor, Node-RED's own limit: the same 200,000 messages, source and Complete/Catch/
//     sink wiring through a no-op node registered by the bench (send(msg); done()); target >= 0.5.
//  3. responsiveness: the event loop's delay (perf_hooks.monitorEventLoopDelay, 1 ms resolution,
//     so every figure includes that 1 ms) while the per-message cases run at full speed, and
//     while STEADY_MESSAGES one-row messages arrive at a steady STEADY_RATE msgs/s (100 per
//     10 ms tick, like a broker's socket) into gpss-write with the dialog's defaults and a
//     Complete node; its "anchor" is the target (max <= 20 ms), so a ratio >= 1 meets it. A
//     stalled loop is what makes an MQTT broker drop a subscriber's messages.
// Knobs: BENCH_RUNS, BENCH_ONLY=bulk|per-message|steady, BENCH_DURABLE=1 (fsync on), BULK_MESSAGES,
// BULK_COMMIT, BULK_WINDOW, BULK_WRITE_KB, PER_MESSAGE, PM_COMMIT, PM_WINDOW, PM_COMPLETE,
// ANCHOR_INSERTS, STEADY_MESSAGES, STEADY_RATE, STEADY_WRITER='{"commitInterval":1000}' (gpss-write
// settings over the dialog's defaults in the steady cases), BULK_WRITER / PM_WRITER (JSON gpss-write
// settings that replace the bulk / per-message cases' own, e.g. '{}' for the dialog's defaults, with
// BULK_WINDOW / PM_WINDOW within their buffer), GPSS_FLAGS (node flags for the gpss-pg process, e.g.
// '--cpu-prof --cpu-prof-dir=/tmp/p'), BENCH_VERBOSE=1 (CPU share of the Node process),
// BENCH_LOOP_TRACE=1 (the steady cases' longest stalls split into run / wait for a CPU / GC).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pipeline } = require('node:stream/promises');
const { Readable } = require('node:stream');
const { Client, Pool } = require('pg');
const { from: copyFrom } = require('pg-copy-streams');
const RED = require('node-red');
const { spawn } = require('node:child_process');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { startPostgres, freePort } = require('../dist/devstack/postgres');
// The CLI's own heap option given here: the spawned process is then the server itself (the CLI
// would otherwise run it as a child), so its pid is the one measured.
const { HEAP_OPTION } = require('../dist/gpss-server/cli');
const { report } = require('./support/report');
const { LoopTrace } = require('./support/loop-trace');
const { selfCpu, procCpu, clusterCpu, postmasterOf, peakRssMiB, resetPeakRss, cpuMeter } = require('./support/cpu');


const BULK_MESSAGES = Number(process.env.BULK_MESSAGES || 1000);
const BULK_ROWS = 1000;
const PER_MESSAGE = Number(process.env.PER_MESSAGE || 200000);
const ANCHOR_INSERTS = Number(process.env.ANCHOR_INSERTS || 20000);
const STEADY_MESSAGES = Number(process.env.STEADY_MESSAGES || 50000);
const STEADY_RATE = Number(process.env.STEADY_RATE || 10000);
const PM_COMPLETE = process.env.PM_COMPLETE !== '0';
/**
 * BENCH_LOOP_TRACE=1: the steady cases print their longest stalls, each split into the time the
 * main thread ran and the time it waited for a CPU (the shared machine's load), with the GC pauses
 * in it ('tasks': and the long callbacks, through async_hooks); BENCH_LOOP_TRACE_FILE=<prefix>
 * also writes the raw stalls, to line up with a --cpu-prof profile.
 */
const LOOP_TRACE = process.env.BENCH_LOOP_TRACE || '';

const REPO = path.resolve(__dirname, '..');

const TABLE = '(id int8, device text, ts timestamp, v float8, note text)';
const BASE_TS = Date.UTC(2026, 0, 1);
/** The same 5-column rows for ours and the anchors. */
function row(i) {
  return [i, `dev-${i % 1000}`, new Date(BASE_TS + i * 1000), i * 0.25, `note ${i}`];
}
function copyLine(r) {
  return `${r[0]}\t${r[1]}\t${r[2].toISOString().replace('T', ' ').replace('Z', '')}\t${r[3]}\t${r[4]}\n`;
}

class RssSampler {
  constructor() {
    this.cpu0 = process.cpuUsage();
    this.t0 = process.hrtime.bigint();
    this.peak = process.memoryUsage.rss();
    // BENCH_VERBOSE: what the process held at its peak (V8 heap, Buffers/ArrayBuffers, the rest).
    this.atPeak = null;
    this.timer = setInterval(() => {
      const rss = process.memoryUsage.rss();
      if (rss <= this.peak) return;
      this.peak = rss;
      if (process.env.BENCH_VERBOSE) this.atPeak = process.memoryUsage();
    }, 50);
  }
  /** The memoryUsage() breakdown at the sampled peak, in MiB (BENCH_VERBOSE only). */
  peakBreakdown() {
    const m = this.atPeak;
    if (!m) return 'n/a';
    const mib = (v) => Math.round(v / 2 ** 20);
    return `rss ${mib(m.rss)} = V8 heap ${mib(m.heapTotal)} (used ${mib(m.heapUsed)}) + external ${mib(m.external)} (ArrayBuffers ${mib(m.arrayBuffers)}) + rest ${mib(m.rss - m.heapTotal - m.external)}`;
  }
  stop() {
    clearInterval(this.timer);
    const cpu = process.cpuUsage(this.cpu0);
    const wall = Number(process.hrtime.bigint() - this.t0) / 1e3;
    /** CPU time of this process (all its threads) during the run, in µs. */
    this.cpuUs = cpu.user + cpu.system;
    /** CPU time of this process (all its threads) per wall-clock time, in %. */
    this.cpuPercent = Math.round((100 * (cpu.user + cpu.system)) / wall);
    return Math.round(Math.max(this.peak, process.memoryUsage.rss()) / 2 ** 20);
  }
}

/** The event loop's delay while a case runs: p99 and max in ms (each includes the 1 ms resolution). */
class LoopDelay {
  constructor() {
    this.h = monitorEventLoopDelay({ resolution: 1 });
    this.h.enable();
  }
  stop() {
    this.h.disable();
    return { p99: this.h.percentile(99) / 1e6, max: this.h.max / 1e6 };
  }
}
const fmtDelay = (d) => `${d.p99.toFixed(1)}/${d.max.toFixed(1)}`;

async function sql(url, text) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

async function countRows(url, table) {
  return (await sql(url, `SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
}

/**
 * The real Node-RED runtime, embedded (no editor, no HTTP), with this package installed into a
 * throwaway userDir the way `npm install` would (a link to the repository), so that the
 * measurement includes exactly what a user's Node-RED does per message and nothing more (the
 * test helper's spies record every call and would dominate).
 */
async function startRuntime(pool) {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-bench-red-'));
  fs.mkdirSync(path.join(userDir, 'node_modules', '@gpflow'), { recursive: true });
  fs.symlinkSync(REPO, path.join(userDir, 'node_modules', '@gpflow', 'node-red-greenplum'), 'dir');
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'bench', version: '0.0.0', private: true }));
  fs.writeFileSync(path.join(userDir, 'flows.json'), '[]');
  // The no-op anchor's node type (Node-RED loads <userDir>/nodes/*.js): passes each message on
  // and is done at once. Not a function node: that runs a VM sandbox per message, which is more
  // than Node-RED's own cost of carrying a message through a node.
  fs.mkdirSync(path.join(userDir, 'nodes'));
  fs.writeFileSync(
    path.join(userDir, 'nodes', 'bench-noop.js'),
    "module.exports = (RED) => {\n" +
      "  function BenchNoop(config) {\n" +
      "    RED.nodes.createNode(this, config);\n" +
      "    this.on('input', (msg, send, done) => { send(msg); done(); });\n" +
      "  }\n" +
      "  RED.nodes.registerType('bench-noop', BenchNoop);\n" +
      "};\n",
  );
  fs.writeFileSync(path.join(userDir, 'nodes', 'bench-noop.html'), '<script type="text/javascript">RED.nodes.registerType("bench-noop", { category: "function", defaults: {}, inputs: 1, outputs: 1 });</script>\n');
  RED.init({
    userDir,
    flowFile: 'flows.json',
    credentialSecret: 'bench',
    httpAdminRoot: false,
    httpNodeRoot: false,
    disableEditor: true,
    telemetry: { enabled: false, updateNotification: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    functionGlobalContext: { pool },
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    editorTheme: { tours: false },
  });
  await RED.start();
  return {
    async deploy(flow) {
      await RED.runtime.flows.setFlows({ flows: { flows: flow }, deploymentType: 'full' });
      await new Promise((r) => setTimeout(r, 200));
    },
    node: (id) => RED.nodes.getNode(id),
    async stop() {
      await RED.stop();
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

let runtime;

/** gpss-write settings from a JSON knob (STEADY_WRITER, BULK_WRITER, PM_WRITER), else `fallback`. */
function envSettings(name, fallback) {
  return process.env[name] ? JSON.parse(process.env[name]) : fallback;
}

/** gpss-pg as its own process (how `npm start` and a real deployment run it). */
async function startGpssProcess(pg) {
  const port = await freePort();
  const child = spawn(process.execPath, [HEAP_OPTION, ...(process.env.GPSS_FLAGS || '').split(/\s+/).filter(Boolean), path.join(REPO, 'dist/gpss-server/cli.js'), '--listen', `127.0.0.1:${port}`, '--database', pg.url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`gpss-pg exited with ${code}`)));
    child.stdout.on('data', (d) => {
      if (/listening/.test(String(d))) resolve();
    });
  });
  child.stdout.resume();
  return { port, pid: child.pid, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

/**
 * greenplum-db → gpss-server (embedded, or remote at gpssPort) → gpss-write (stream) → sink;
 * Catch → errs; with `complete`, a Complete node on gpss-write → completed.
 */
async function deployGpss(pg, table, writer, gpssPort, complete = false) {
  const u = new URL(pg.url);
  await runtime.deploy([
    { id: 'tab1', type: 'tab', label: 'bench' },
    {
      id: 'db1', type: 'greenplum-db', host: u.hostname, port: Number(u.port), database: u.pathname.slice(1),
      user: decodeURIComponent(u.username), credentials: { password: decodeURIComponent(u.password) },
    },
    gpssPort
      ? { id: 'gs1', type: 'gpss-server', mode: 'remote', host: '127.0.0.1', port: gpssPort, db: 'db1', rpcTimeout: 120 }
      : { id: 'gs1', type: 'gpss-server', mode: 'embedded', db: 'db1', rpcTimeout: 120 },
    { id: 'w1', type: 'gpss-write', z: 'tab1', x: 100, y: 100, server: 'gs1', writeMode: 'stream', table, ...writer, wires: [['sink']] },
    ...sinks(complete),
  ]);
}

function sinks(complete = false) {
  return [
    ...(complete
      ? [
          { id: 'complete1', type: 'complete', z: 'tab1', x: 100, y: 300, scope: ['w1'], uncaught: false, wires: [['completed']] },
          { id: 'completed', type: 'debug', z: 'tab1', x: 300, y: 300, active: false, tosidebar: false, console: false, complete: 'false', wires: [] },
        ]
      : []),
    { id: 'sink', type: 'debug', z: 'tab1', x: 300, y: 100, active: false, tosidebar: false, console: false, complete: 'false', wires: [] },
    { id: 'catch1', type: 'catch', z: 'tab1', x: 100, y: 200, scope: ['w1'], uncaught: false, wires: [['errs']] },
    { id: 'errs', type: 'debug', z: 'tab1', x: 300, y: 200, active: false, tosidebar: false, console: false, complete: 'true', wires: [] },
  ];
}

/** The no-op node (passes each message on at once) in place of gpss-write, with the same sinks. */
async function deployNoop(complete) {
  await runtime.deploy([
    { id: 'tab1', type: 'tab', label: 'bench' },
    { id: 'w1', type: 'bench-noop', z: 'tab1', x: 100, y: 100, wires: [['sink']] },
    ...sinks(complete),
  ]);
}

async function undeploy() {
  await runtime.deploy([]);
}

/**
 * Feeds `count` messages into w1, keeping at most `window` unacknowledged (a well-behaved
 * source: gpss-write fails excess messages fast instead of buffering them), and resolves with
 * the elapsed seconds when every message was acknowledged.
 */
function feed(count, window, makePayload) {
  return new Promise((resolve, reject) => {
    const w1 = runtime.node('w1');
    let sent = 0;
    let acked = 0;
    const t0 = process.hrtime.bigint();
    runtime.node('errs').on('input', (m) => reject(new Error(`message failed: ${m.error.message}`)));
    // Refills up to the window as acknowledgements come in (in bursts of at most 1,000 per
    // turn of the event loop, so that acknowledgements and commits get their turns too).
    let scheduled = false;
    const pump = () => {
      scheduled = false;
      const end = Math.min(count, acked + window);
      let burst = 0;
      while (sent < end && burst < 1000) {
        w1.receive({ payload: makePayload(sent) });
        sent++;
        burst++;
      }
      if (sent < end) schedule();
    };
    const schedule = () => {
      if (!scheduled) {
        scheduled = true;
        setImmediate(pump);
      }
    };
    runtime.node('sink').on('input', () => {
      acked++;
      if (acked === count) resolve(Number(process.hrtime.bigint() - t0) / 1e9);
      else if (sent < count) schedule();
    });
    pump();
  });
}

/**
 * Feeds `count` messages into w1 at a steady `rate` msgs/s in 10 ms ticks (a tick that comes
 * late sends what is due, as a socket read after a stall would), and resolves with the elapsed
 * seconds when every message was acknowledged; rejects past the time the feed should take + 60 s.
 */
function feedSteady(count, rate, makePayload) {
  return new Promise((resolve, reject) => {
    const w1 = runtime.node('w1');
    let sent = 0;
    let acked = 0;
    const t0 = process.hrtime.bigint();
    const elapsedMs = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const limit = setTimeout(() => reject(new Error(`steady feed: ${acked} of ${count} acknowledged in time`)), (count / rate) * 1000 + 60000);
    runtime.node('errs').on('input', (m) => reject(new Error(`message failed: ${m.error.message}`)));
    runtime.node('sink').on('input', () => {
      acked++;
      if (acked === count) {
        clearTimeout(limit);
        resolve(elapsedMs() / 1000);
      }
    });
    const tick = () => {
      const due = Math.min(count, Math.floor((elapsedMs() * rate) / 1000));
      while (sent < due) w1.receive({ payload: makePayload(sent++) });
      if (sent < count) setTimeout(tick, 10 - (elapsedMs() % 10));
    };
    setTimeout(tick, 10);
  });
}

const oneRowMessage = (i) => {
  const r = row(i);
  return { id: r[0], device: r[1], ts: r[2], v: r[3], note: r[4] };
};

function printTrace(name, t) {
  if (process.env.BENCH_LOOP_TRACE_FILE) fs.writeFileSync(`${process.env.BENCH_LOOP_TRACE_FILE}.${name.replace(/\W+/g, '-')}.json`, JSON.stringify(t.raw));
  console.log(`${name}: ${t.stalls} stalls >= 8 ms; main thread CPU between two ticks p99 ${t.ranP99.toFixed(1)} ms, max ${t.ranMax.toFixed(1)} ms; GC ${JSON.stringify(t.gc)}`);
  console.log('  longest (ms = late by, ran = main thread on a CPU, waited = for a CPU):');
  for (const s of t.longest) console.log(`    ${JSON.stringify(s)}`);
  console.log('  most run:');
  for (const s of t.mostRun) console.log(`    ${JSON.stringify(s)}`);
}

/** gpss-write with the dialog's defaults and a Complete node, fed at a steady rate. */
async function steadyOurs(pg, gpssPort) {
  await sql(pg.url, `DROP TABLE IF EXISTS steady_ours; CREATE UNLOGGED TABLE steady_ours ${TABLE}`);
  await deployGpss(pg, 'steady_ours', envSettings('STEADY_WRITER', {}), gpssPort, true);
  if (global.gc) global.gc(); // the previous case's garbage is not this case's pause
  const delay = new LoopDelay();
  const trace = LOOP_TRACE ? new LoopTrace(8, LOOP_TRACE === 'tasks') : null;
  const t0 = performance.now();
  const secs = await feedSteady(STEADY_MESSAGES, STEADY_RATE, oneRowMessage);
  const d = delay.stop();
  // With --trace-gc-nvp: the scavenges of this window are this case's (times are ms since start).
  if (process.env.BENCH_VERBOSE) console.log(`steady ${gpssPort ? 'remote' : 'embedded'} window ms ${Math.round(t0)}-${Math.round(performance.now())}`);
  if (trace) printTrace(`steady ${gpssPort ? 'remote' : 'embedded'}`, trace.stop(6));
  await undeploy();
  const n = await countRows(pg.url, 'steady_ours');
  if (n !== STEADY_MESSAGES) throw new Error(`steady: ${n} rows in the table`);
  if (process.env.BENCH_VERBOSE) console.log(`steady ${STEADY_RATE} msgs/s ours ${gpssPort ? 'remote' : 'embedded'}: loop delay p99/max ${fmtDelay(d)} ms, last ack after ${secs.toFixed(2)} s`);
  return { delay: d, secs };
}

/**
 * The steady case's anchor: the same feed and Complete/Catch/sink wiring through the no-op node
 * (it passes each message on at once, nothing held, no commits). Its loop delay is the floor of
 * Node-RED, the harness and the machine at this rate; ours can only add to it.
 */
async function steadyNoop() {
  await deployNoop(true);
  if (global.gc) global.gc();
  const delay = new LoopDelay();
  const trace = LOOP_TRACE ? new LoopTrace(8, LOOP_TRACE === 'tasks') : null;
  const secs = await feedSteady(STEADY_MESSAGES, STEADY_RATE, oneRowMessage);
  const d = delay.stop();
  if (trace) printTrace('steady no-op', trace.stop(6));
  await undeploy();
  return { delay: d, secs };
}

/** The target for the steady case: the event loop never held longer than this. */
const STEADY_MAX_DELAY_TARGET_MS = 20;

/** Cumulative CPU seconds of the PostgreSQL cluster serving pg (all its processes), cached lookup. */
async function postgresCpuSource(pg) {
  if (pg.postmaster === undefined) {
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    try {
      pg.postmaster = await postmasterOf(c);
    } finally {
      await c.end();
    }
  }
  return () => clusterCpu(pg.postmaster);
}

/**
 * Starts the CPU and peak-RSS accounting of a bulk run: this process (Node-RED, with gpss-pg
 * when embedded), gpss-pg's own process when given, and the PostgreSQL cluster. Peak RSS is
 * the kernel's high-water mark (VmHWM, reset at the start) where that works, else sampled.
 */
async function bulkMeter(pg, gpss) {
  const sources = { node: selfCpu, postgres: await postgresCpuSource(pg) };
  if (gpss) sources['gpss-pg'] = () => procCpu(gpss.pid);
  if (global.gc) global.gc(); // the previous case's garbage is not this case's peak
  const hwm = resetPeakRss(process.pid);
  const gpssHwm = gpss ? resetPeakRss(gpss.pid) : false;
  const rss = new RssSampler();
  const cpu = cpuMeter(sources);
  return (rows) => {
    const used = cpu();
    const sampled = rss.stop();
    const perMillion = Object.fromEntries(Object.entries(used).map(([k, v]) => [k, (v * 1e6) / rows]));
    return { breakdown: rss.peakBreakdown(), cpu: perMillion, peak: hwm ? Math.max(sampled, peakRssMiB(process.pid)) : sampled, gpssPeak: gpss ? (gpssHwm ? peakRssMiB(gpss.pid) : NaN) : undefined, cpuPercent: rss.cpuPercent };
  };
}

/**
 * The bulk case's gpss-write settings: commits of 100,000 rows (at most one a second) and a source
 * 200 messages ahead, the throughput setting; or, with `defaults`, the dialog's defaults (10,000-row
 * commits, 200 ms, a 100,000-row buffer) and a source 30 messages ahead, what a flow gets untuned.
 */
function bulkSetup(defaults) {
  if (defaults) return { writer: {}, window: 30 };
  return {
    writer: envSettings('BULK_WRITER', { commitRows: Number(process.env.BULK_COMMIT || 100000), commitInterval: 1000, bufferRows: 400000, bufferMb: 512, writeKb: Number(process.env.BULK_WRITE_KB || 1024) }),
    window: Number(process.env.BULK_WINDOW || 200),
  };
}

async function bulkOurs(pg, gpss, defaults = false) {
  const gpssPort = gpss?.port;
  const setup = bulkSetup(defaults);
  await sql(pg.url, `DROP TABLE IF EXISTS bulk_ours; CREATE UNLOGGED TABLE bulk_ours ${TABLE}`);
  await deployGpss(pg, 'bulk_ours', setup.writer, gpssPort);
  const meter = await bulkMeter(pg, gpss);
  const secs = await feed(BULK_MESSAGES, setup.window, (m) => {
    const rows = new Array(BULK_ROWS);
    for (let j = 0; j < BULK_ROWS; j++) rows[j] = row(m * BULK_ROWS + j);
    return rows;
  });
  const m = meter(BULK_MESSAGES * BULK_ROWS);
  await undeploy();
  const n = await countRows(pg.url, 'bulk_ours');
  if (n !== BULK_MESSAGES * BULK_ROWS) throw new Error(`bulk: ${n} rows in the table`);
  if (process.env.BENCH_VERBOSE) console.log(`bulk ours ${gpssPort ? 'remote' : 'embedded'}${defaults ? ', dialog defaults' : ''}: ${(n / secs).toFixed(0)} rows/s, Node process CPU ${m.cpuPercent}%, CPU s per 1M rows ${JSON.stringify(m.cpu)}; at the peak (MiB): ${m.breakdown}`);
  return { rate: n / secs, secs, ...m };
}

async function bulkAnchor(pg) {
  await sql(pg.url, `DROP TABLE IF EXISTS bulk_copy; CREATE UNLOGGED TABLE bulk_copy ${TABLE}`);
  const t0 = process.hrtime.bigint();
  const client = new Client({ connectionString: pg.url });
  await client.connect();
  // Metered while the backend lives: an ended backend's CPU is lost until its reaping.
  const meter = await bulkMeter(pg, null);
  function* chunks() {
    let buf = '';
    for (let m = 0; m < BULK_MESSAGES; m++) {
      for (let j = 0; j < BULK_ROWS; j++) buf += copyLine(row(m * BULK_ROWS + j));
      if (buf.length >= 65536) {
        yield buf;
        buf = '';
      }
    }
    if (buf) yield buf;
  }
  await pipeline(Readable.from(chunks()), client.query(copyFrom('COPY bulk_copy FROM STDIN')));
  const m = meter(BULK_MESSAGES * BULK_ROWS);
  await client.end();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const n = await countRows(pg.url, 'bulk_copy');
  return { rate: n / secs, secs, ...m };
}

async function perMessageOurs(pg, gpssPort) {
  await sql(pg.url, `DROP TABLE IF EXISTS pm_ours; CREATE UNLOGGED TABLE pm_ours ${TABLE}`);
  await deployGpss(pg, 'pm_ours', envSettings('PM_WRITER', { commitRows: Number(process.env.PM_COMMIT || 20000), commitInterval: 200, bufferRows: 100000, bufferMb: 256, writeKb: 1024 }), gpssPort, PM_COMPLETE);
  if (global.gc) global.gc();
  const rss = new RssSampler();
  const delay = new LoopDelay();
  // The source keeps within gpss-write's default buffer (100,000 rows): up to 80,000 unacknowledged.
  const w0 = process.hrtime.bigint();
  const secs = await feed(PER_MESSAGE, Number(process.env.PM_WINDOW || 80000), (i) => {
    const r = row(i);
    return { id: r[0], device: r[1], ts: r[2], v: r[3], note: r[4] }; // one row object per message
  });
  // For --cpu-prof: the window on the monotonic clock (µs), as the profile's timestamps.
  if (process.env.BENCH_VERBOSE) console.log(`per-message ${gpssPort ? 'remote' : 'embedded'} window us ${w0 / 1000n}-${process.hrtime.bigint() / 1000n}`);
  const d = delay.stop();
  const peak = rss.stop();
  const cpuUs = rss.cpuUs / PER_MESSAGE;
  await undeploy();
  const n = await countRows(pg.url, 'pm_ours');
  if (n !== PER_MESSAGE) throw new Error(`per-message: ${n} rows in the table`);
  if (process.env.BENCH_VERBOSE) console.log(`per-message ours ${gpssPort ? 'remote' : 'embedded'}: ${(n / secs).toFixed(0)} msgs/s, Node process CPU ${rss.cpuPercent}% = ${((rss.cpuPercent * secs * 1e6) / 100 / n).toFixed(2)} us CPU per msg, loop delay p99/max ${fmtDelay(d)} ms; at the peak (MiB): ${rss.peakBreakdown()}`);
  return { rate: n / secs, secs, peak, delay: d, cpuUs };
}

/**
 * The anchor: what node-red-contrib-postgresql (or a function node with a pool) does, one pooled
 * INSERT per message, acknowledged when the INSERT returned.
 */
async function perMessageAnchor(pg, pool) {
  await sql(pg.url, `DROP TABLE IF EXISTS pm_insert; CREATE UNLOGGED TABLE pm_insert ${TABLE}`);
  await runtime.deploy([
    { id: 'tab1', type: 'tab', label: 'bench' },
    {
      id: 'w1', type: 'function', z: 'tab1', x: 100, y: 100, outputs: 1, libs: [], wires: [['sink']],
      func:
        "const r = msg.payload;\n" +
        "global.get('pool').query('INSERT INTO pm_insert VALUES ($1, $2, $3, $4, $5)', [r.id, r.device, r.ts, r.v, r.note])\n" +
        "  .then(() => { node.send(msg); node.done(); }, (err) => node.done(err));\n" +
        "return null;",
    },
    ...sinks(),
  ]);
  const rss = new RssSampler();
  const secs = await feed(ANCHOR_INSERTS, 40000, (i) => {
    const r = row(i);
    return { id: r[0], device: r[1], ts: r[2], v: r[3], note: r[4] };
  });
  const peak = rss.stop();
  await undeploy();
  const n = await countRows(pg.url, 'pm_insert');
  // Node-RED's process only (PostgreSQL's INSERT work is not in it).
  return { rate: n / secs, secs, peak, cpuUs: rss.cpuUs / n };
}

/**
 * The no-op anchor: the same source (feed, same window), the same Complete/Catch/sink wiring,
 * through a node that only passes the message on: Node-RED's own per-message limit on this machine.
 */
async function perMessageNoop() {
  await deployNoop(PM_COMPLETE);
  if (global.gc) global.gc();
  const rss = new RssSampler();
  const w0 = process.hrtime.bigint();
  const secs = await feed(PER_MESSAGE, Number(process.env.PM_WINDOW || 80000), oneRowMessage);
  if (process.env.BENCH_VERBOSE) console.log(`per-message no-op window us ${w0 / 1000n}-${process.hrtime.bigint() / 1000n}`);
  const peak = rss.stop();
  await undeploy();
  if (process.env.BENCH_VERBOSE) console.log(`per-message no-op: ${(PER_MESSAGE / secs).toFixed(0)} msgs/s, Node process CPU ${rss.cpuPercent}% = ${(rss.cpuUs / PER_MESSAGE).toFixed(2)} us CPU per msg`);
  return { rate: PER_MESSAGE / secs, secs, peak, cpuUs: rss.cpuUs / PER_MESSAGE };
}

async function main() {
  let pg;
  let cluster = null;
  let tmp = null;
  const given = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
  if (given) pg = { url: given };
  else {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-bench-'));
    // BENCH_DURABLE=1: fsync and synchronous_commit on, as a production database runs (every
    // single-row INSERT then pays a WAL flush); default: the fast test settings.
    cluster = await startPostgres({ dataDir: path.join(tmp, 'data'), fast: !process.env.BENCH_DURABLE });
    pg = { url: cluster.url };
  }
  const pool = new Pool({ connectionString: pg.url, max: 10 });
  pool.on('error', () => {});
  runtime = await startRuntime(pool);
  try {
    const only = process.env.BENCH_ONLY || ''; // 'bulk' or 'per-message' while profiling
    const skip = { rate: NaN, secs: NaN, peak: NaN, delay: { p99: NaN, max: NaN }, cpuUs: NaN };
    const runs = Number(process.env.BENCH_RUNS || 2);
    const gpss = await startGpssProcess(pg);
    // Ours and the anchor alternate, and each keeps its best run: the machine is shared, so
    // load that comes and goes should not fall on one side only.
    let bulkCopy = skip;
    let bulk = skip;
    let bulkRemote = skip;
    let bulkDefaults = skip;
    let bulkDefaultsRemote = skip;
    const better = (a, b) => (Number.isNaN(a.rate) || b.rate > a.rate ? b : a);
    // Bulk runs: the best rate, the least CPU of each process (the least disturbed run), and
    // the highest peak RSS (memory is a bound, not a best case).
    const bulkBest = (a, b) => {
      if (Number.isNaN(a.rate)) return b;
      const cpu = Object.fromEntries(Object.keys(b.cpu).map((k) => [k, Math.min(a.cpu[k], b.cpu[k])]));
      return { ...better(a, b), cpu, peak: Math.max(a.peak, b.peak), gpssPeak: Math.max(a.gpssPeak, b.gpssPeak) };
    };
    if (only !== 'per-message' && only !== 'steady') {
      for (let i = 0; i < runs; i++) {
        if (global.gc) global.gc();
        bulkCopy = bulkBest(bulkCopy, await bulkAnchor(pg));
        // The defaults first: a case's peak RSS starts from what the case before it left, and
        // the larger commits leave more.
        bulkDefaults = bulkBest(bulkDefaults, await bulkOurs(pg, null, true));
        bulkDefaultsRemote = bulkBest(bulkDefaultsRemote, await bulkOurs(pg, gpss, true));
        bulk = bulkBest(bulk, await bulkOurs(pg));
        bulkRemote = bulkBest(bulkRemote, await bulkOurs(pg, gpss));
      }
    }
    const cpuText = (r) => (r.cpu ? Object.entries(r.cpu).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') : 'n/a');
    const perMessage = only === '' || only === 'per-message';
    const pmInsert = perMessage ? await perMessageAnchor(pg, pool) : skip;
    const pmNoop = perMessage ? await perMessageNoop() : skip;
    const pm = perMessage ? await perMessageOurs(pg) : skip;
    const pmRemote = perMessage ? await perMessageOurs(pg, gpss.port) : skip;
    const steady = only === '' || only === 'per-message' || only === 'steady';
    // The no-op floor first and between ours, so that load that comes and goes falls on both.
    const steadyFloor = steady ? await steadyNoop() : skip;
    const steadyEmbedded = steady ? await steadyOurs(pg) : skip;
    const steadyFloor2 = steady ? await steadyNoop() : skip;
    const steadyRemote = steady ? await steadyOurs(pg, gpss.port) : skip;
    await gpss.stop();
    const steadyAnchorName = `target: max <= ${STEADY_MAX_DELAY_TARGET_MS} ms`;
    report('gpss-nodes', [
      {
        case: `bulk: ${BULK_MESSAGES} msgs x ${BULK_ROWS} rows, stream mode (target >= 0.5)`,
        unit: 'rows/s',
        ours: bulk.rate,
        anchor: bulkCopy.rate,
        anchorName: 'direct pg-copy-streams COPY',
        extra: { 'ours s': bulk.secs.toFixed(2), 'anchor s': bulkCopy.secs.toFixed(2), 'peak RSS MiB ours/anchor': `${bulk.peak}/${bulkCopy.peak}`, 'CPU s per 1M rows ours | anchor': `${cpuText(bulk)} | ${cpuText(bulkCopy)}` },
      },
      {
        case: `bulk, gpss-pg as its own process (remote mode)`,
        unit: 'rows/s',
        ours: bulkRemote.rate,
        anchor: bulkCopy.rate,
        anchorName: 'direct pg-copy-streams COPY',
        extra: { 'ours s': bulkRemote.secs.toFixed(2), 'anchor s': bulkCopy.secs.toFixed(2), 'peak RSS MiB ours/anchor': `${bulkRemote.peak}/${bulkCopy.peak}`, 'gpss-pg peak RSS MiB': bulkRemote.gpssPeak, 'CPU s per 1M rows ours | anchor': `${cpuText(bulkRemote)} | ${cpuText(bulkCopy)}` },
      },
      // The same rows with the dialog's defaults: each commit costs a few ms of round trips and
      // of waiting for PostgreSQL to finish its COPY, ten times as many commits as above.
      {
        case: `bulk with the dialog's defaults (10,000-row commits), embedded`,
        unit: 'rows/s',
        ours: bulkDefaults.rate,
        anchor: bulkCopy.rate,
        anchorName: 'direct pg-copy-streams COPY',
        extra: { 'remote rows/s': Math.round(bulkDefaultsRemote.rate), 'remote / anchor': (bulkDefaultsRemote.rate / bulkCopy.rate).toFixed(3), 'peak RSS MiB embedded/remote/anchor': `${bulkDefaults.peak}/${bulkDefaultsRemote.peak}/${bulkCopy.peak}`, 'CPU s per 1M rows remote': cpuText(bulkDefaultsRemote) },
      },
      // The budget (gpss-pg at most half of PostgreSQL's CPU per row), where gpss-pg's
      // CPU is its own process's alone; PostgreSQL = the whole cluster during the run.
      {
        case: 'bulk remote: CPU per 1M rows, gpss-pg vs PostgreSQL (ratio = PostgreSQL / gpss-pg, target >= 2)',
        unit: 'CPU s',
        ours: bulkRemote.cpu?.['gpss-pg'] ?? NaN,
        anchor: bulkRemote.cpu?.postgres ?? NaN,
        anchorName: 'PostgreSQL cluster during the load',
        higherIsBetter: false,
        extra: { 'gpss-pg / PostgreSQL': ((bulkRemote.cpu?.['gpss-pg'] ?? NaN) / (bulkRemote.cpu?.postgres ?? NaN)).toFixed(3), 'embedded: Node-RED + gpss-pg / PostgreSQL': `${(bulk.cpu?.node ?? NaN).toFixed(2)} / ${(bulk.cpu?.postgres ?? NaN).toFixed(2)}` },
      },
      {
        case: `per-message: ${PER_MESSAGE} one-row msgs, stream mode (target >= 10)`,
        unit: 'msgs/s',
        ours: pm.rate,
        anchor: pmInsert.rate,
        anchorName: `INSERT per message, pg Pool(10) in a function node, ${ANCHOR_INSERTS} msgs`,
        extra: { 'ours s': pm.secs.toFixed(2), 'anchor s': pmInsert.secs.toFixed(2), 'peak RSS MiB ours/anchor': `${pm.peak}/${pmInsert.peak}`, 'loop delay p99/max ms': fmtDelay(pm.delay), complete: PM_COMPLETE },
      },
      {
        case: `per-message, gpss-pg as its own process (remote mode)`,
        unit: 'msgs/s',
        ours: pmRemote.rate,
        anchor: pmInsert.rate,
        anchorName: `INSERT per message, pg Pool(10) in a function node, ${ANCHOR_INSERTS} msgs`,
        extra: { 'ours s': pmRemote.secs.toFixed(2), 'anchor s': pmInsert.secs.toFixed(2), 'peak RSS MiB ours/anchor': `${pmRemote.peak}/${pmInsert.peak}`, 'loop delay p99/max ms': fmtDelay(pmRemote.delay), complete: PM_COMPLETE },
      },
      // Node-RED's own limit: the same source and wiring through a node that only passes messages on.
      {
        case: `per-message vs a no-op node (target >= 0.5)`,
        unit: 'msgs/s',
        ours: pm.rate,
        anchor: pmNoop.rate,
        anchorName: `no-op node (send(msg); done()), same source, Complete/Catch/sink, ${PER_MESSAGE} msgs`,
        extra: { 'ours s': pm.secs.toFixed(2), 'anchor s': pmNoop.secs.toFixed(2), 'remote / no-op': (pmRemote.rate / pmNoop.rate).toFixed(3), 'peak RSS MiB ours/anchor': `${pm.peak}/${pmNoop.peak}`, complete: PM_COMPLETE },
      },
      // CPU time per message (all threads of the Node-RED process), which a shared machine's
      // load moves far less than msgs/s: ratio = no-op / ours (1 = Node-RED's own cost only).
      {
        case: `per-message CPU per msg vs the no-op node (Node process, all threads)`,
        unit: 'µs CPU',
        higherIsBetter: false,
        ours: pm.cpuUs,
        anchor: pmNoop.cpuUs,
        anchorName: 'no-op node, same source and wiring',
        extra: { 'remote µs (Node-RED process only)': pmRemote.cpuUs.toFixed(2), 'INSERT per message µs (Node-RED process only)': pmInsert.cpuUs.toFixed(2) },
      },
      {
        case: `steady ${STEADY_RATE} msgs/s, ${STEADY_MESSAGES} one-row msgs, dialog defaults + Complete: event-loop delay max`,
        unit: 'ms',
        higherIsBetter: false,
        ours: steadyEmbedded.delay.max,
        anchor: STEADY_MAX_DELAY_TARGET_MS,
        anchorName: steadyAnchorName,
        extra: { 'loop delay p99/max ms': fmtDelay(steadyEmbedded.delay), 'last ack s': steadyEmbedded.secs.toFixed(2), 'no-op node p99/max ms (floor)': fmtDelay(steadyFloor.delay) },
      },
      {
        case: `steady, gpss-pg as its own process (remote mode)`,
        unit: 'ms',
        higherIsBetter: false,
        ours: steadyRemote.delay.max,
        anchor: STEADY_MAX_DELAY_TARGET_MS,
        anchorName: steadyAnchorName,
        extra: { 'loop delay p99/max ms': fmtDelay(steadyRemote.delay), 'last ack s': steadyRemote.secs.toFixed(2), 'no-op node p99/max ms (floor)': fmtDelay(steadyFloor2.delay) },
      },
    ]);
  } finally {
    await runtime.stop();
    await pool.end();
    if (cluster) cluster.stop({ removeData: true });
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
