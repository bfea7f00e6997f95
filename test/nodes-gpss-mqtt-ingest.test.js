'use strict';
// An IoT ingest as a user builds it: a real mosquitto broker (Debian's, started here on a free
// loopback port, persistence off) → Node-RED's core `mqtt in` (QoS 1, parsed JSON) → gpss-write
// in stream mode with the dialog's defaults → embedded gpss-pg → PostgreSQL, with a Complete
// node on gpss-write and a Catch on everything. A separate process publishes 50,000 QoS 1
// messages at a steady 10,000 msgs/s. Every one must reach the table: if settling a commit
// holds Node-RED's event loop, Node-RED stops reading its socket, the broker's per-client queue
// overflows and mosquitto drops messages ("Outgoing messages are being dropped for client").
const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const { spawn, fork } = require('node:child_process');
const { monitorEventLoopDelay, PerformanceObserver } = require('node:perf_hooks');
const { usePostgres } = require('./support/pg');
const { freePort } = require('../dist/devstack/postgres');
const S = require('./support/gpss-nodes');

const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => fs.existsSync(p));
const MQTT_NODES = require(require.resolve('@node-red/nodes/core/network/10-mqtt.js'));
const MESSAGES = 50000;
const RATE = 10000;
// Before the measured feed, a slower one of other ids: a running Node-RED has compiled its
// message path long ago, while the first second of a cold one is lazy compilation that stalls
// even a flow without any node of ours (measured here: stalls of 56-162 ms in the first 0.6 s
// of the anchor flow, none after; through gpss-write, again around the first commit of full
// size). These rows land in the table too, with ids from WARM_FIRST_ID.
const WARM = 20000;
const WARM_RATE = 6000;
const WARM_FIRST_ID = 1000000;

const pg = usePostgres();
let broker = null;

/** Starts mosquitto as a child process on a free loopback port; resolves once it accepts connections. */
async function startMosquitto() {
  if (!MOSQUITTO) {
    throw new Error('mosquitto is not installed (/usr/sbin/mosquitto): install Debian\'s mosquitto package (.ci/run does)');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-mqtt-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  // The broker's defaults otherwise (max_queued_messages 1000, max_inflight_messages 20): what a
  // user's apt-installed mosquitto does.
  fs.writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information', ''].join('\n'),
  );
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let exited = null;
  child.once('exit', (code, signal) => (exited = { code, signal }));
  const end = Date.now() + 15000;
  for (;;) {
    if (exited) throw new Error(`mosquitto exited (${JSON.stringify(exited)}): ${stderr}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not listen on 127.0.0.1:${port} within 15 s: ${stderr}`);
    }
    await S.sleep(50);
  }
  return {
    port,
    log: () => stderr,
    async stop() {
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([gone, S.sleep(5000)]);
        if (!exited) child.kill('SIGKILL');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The publisher process; resolves once it is connected to the broker. */
async function startPublisher(port) {
  const child = fork(path.join(__dirname, 'support', 'mqtt-publisher.js'), [`mqtt://127.0.0.1:${port}`, String(MESSAGES), String(RATE)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // The devices that publish are not on the Node-RED host in a deployment; here they share its two
  // cores. A lower priority keeps the publisher from taking the CPU Node-RED needs to read its
  // socket (it still gets every idle cycle, and reports how far it fell behind its schedule).
  try {
    os.setPriority(child.pid, 10);
  } catch {
    /* not permitted: the publisher runs at the default priority */
  }
  const events = [];
  const waiters = [];
  child.on('message', (m) => {
    events.push(m);
    for (const w of waiters.splice(0)) w();
  });
  child.on('exit', (code) => {
    events.push({ exit: code });
    for (const w of waiters.splice(0)) w();
  });
  const next = async (key, timeoutMs) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const at = events.findIndex((x) => key in x || 'error' in x || 'exit' in x);
      const e = at >= 0 ? events[at] : undefined;
      if (e) {
        if (key in e) events.splice(at, 1); // each report is read once (warmed, then done)
        if (!(key in e)) throw new Error(`publisher: ${JSON.stringify(e)}`);
        return e[key];
      }
      const left = end - Date.now();
      if (left <= 0) throw new Error(`publisher: no ${key} within ${timeoutMs} ms`);
      await new Promise((r) => {
        const t = setTimeout(r, left);
        waiters.push(() => (clearTimeout(t), r()));
      });
    }
  };
  await next('ready', 15000);
  return {
    probe: () => child.send('probe'),
    run: () => child.send('run'),
    warm: () => child.send({ warm: { count: WARM, rate: WARM_RATE, firstId: WARM_FIRST_ID } }),
    warmed: (timeoutMs) => next('warmed', timeoutMs),
    done: (timeoutMs) => next('done', timeoutMs),
    stop: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

before(async () => {
  await S.until(() => pg.url, 60000);
  await S.query(pg.url, 'CREATE TABLE mqtt_rows (id int4 NOT NULL, device text, v float8)');
  await S.query(pg.url, `CREATE TABLE public.sensor_readings (device_id text NOT NULL, ts timestamp NOT NULL,
    temperature double precision, humidity double precision)`);
  broker = await startMosquitto();
  await S.startNodeRed();
});
afterEach(async () => {
  await S.helper.unload();
});
after(async () => {
  await S.stopNodeRed();
  if (broker) await broker.stop();
  await S.query(pg.serverUrl, `DROP DATABASE IF EXISTS ${pg.database} WITH (FORCE)`).catch(() => {});
});

/** Waits until `count()` reaches `target`: 60 s at most, and no more than 5 s without progress. */
async function waitForArrivals(count, target) {
  const end = Date.now() + 60000;
  let seen = -1;
  let movedAt = Date.now();
  while (count() < target && Date.now() < end && Date.now() - movedAt < 5000) {
    if (count() !== seen) [seen, movedAt] = [count(), Date.now()];
    await S.sleep(100);
  }
}

/**
 * Publishes MESSAGES at RATE through `mqtt in` into `w1`: gpss-write as the dialog leaves it
 * (`gpss`), or, for the anchor, a node that only counts (the same flow without our node).
 * Returns what arrived and what the broker dropped.
 */
async function ingest(t, { gpss }) {
  const flow = [
    ...S.configNodes(pg),
    { id: 'mq1', type: 'mqtt-broker', name: 'local', broker: '127.0.0.1', port: String(broker.port), clientid: '', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true, autoUnsubscribe: true },
    S.flowNode({ id: 'in1', type: 'mqtt in', topic: 'sensors/#', qos: '1', datatype: 'json', broker: 'mq1', nl: false, rap: true, rh: 0, inputs: 0, wires: [['w1']] }),
    // Registered after in1, so its subscription reaches the broker after in1's: a probe that
    // arrives here means in1 is subscribed too.
    S.flowNode({ id: 'probeIn', type: 'mqtt in', topic: 'probe/#', qos: '1', datatype: 'json', broker: 'mq1', nl: false, rap: true, rh: 0, inputs: 0, wires: [['probed']] }),
    S.flowNode({ id: 'probed', type: 'helper' }),
    // gpss-write as the dialog leaves it (commit every 10,000 rows or 1 s, buffer 100,000 rows).
    gpss
      ? S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'mqtt_rows', tableType: 'str', wires: [[]] })
      : S.flowNode({ id: 'w1', type: 'helper' }),
    S.flowNode({ id: 'complete1', type: 'complete', scope: ['w1'], uncaught: false, wires: [['completed']] }),
    S.flowNode({ id: 'completed', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] }),
    S.flowNode({ id: 'caught', type: 'helper' }),
  ];
  await S.helper.load([...S.NODES, MQTT_NODES], flow, S.credentials(pg.password));
  // The test helper records every node.send() and every log call in sinon spies, with a stack
  // trace each, and Node-RED logs a metric (log.log) for every receive, send and done: at
  // 10,000 msgs/s the harness would be most of this process's work (a profile showed it) and its
  // records most of its heap. A user's Node-RED has none of that: use the real methods here.
  const log = S.helper._log;
  const spiedLog = log.log;
  const spiedSend = S.helper._NodePrototype.send;
  assert.equal(typeof spiedLog.wrappedMethod, 'function', 'the test helper no longer spies on log.log as expected');
  assert.equal(typeof spiedSend.wrappedMethod, 'function', 'the test helper no longer spies on Node.prototype.send as expected');
  // (helper.unload() in afterEach restores the original methods either way.)
  log.log = spiedLog.wrappedMethod;
  // Node-RED copies the prototype's send onto each node with wires when it creates it.
  let unspied = 0;
  for (const n of flow) {
    const node = S.helper.getNode(n.id);
    if (node && node.send === spiedSend) (node.send = spiedSend.wrappedMethod), unspied++;
  }
  assert.ok(unspied >= 2, 'mqtt in and Complete should have sent through the helper\'s spy');
  let completed = 0;
  let warmed = 0;
  // Through gpss-write a message counts once committed (Complete); in the anchor, on arrival.
  // Counted by id, so that a warm-up message arriving late is never taken for a measured one.
  S.helper.getNode(gpss ? 'completed' : 'w1').on('input', (m) => {
    if (m.payload && m.payload.id >= WARM_FIRST_ID) warmed++;
    else completed++;
  });
  const caught = S.collect(S.helper.getNode('caught'));
  const probed = S.collect(S.helper.getNode('probed'));

  const publisher = await startPublisher(broker.port);
  t.after(() => publisher.stop());
  // Wait until Node-RED is subscribed (bounded: 50 probes, 200 ms apart).
  for (let i = 0; i < 50 && probed.msgs.length === 0; i++) {
    publisher.probe();
    await S.sleep(200);
  }
  assert.ok(probed.msgs.length > 0, 'Node-RED did not subscribe to the broker within 10 s');

  publisher.warm();
  await publisher.warmed((WARM / WARM_RATE) * 1000 + 60000);
  await waitForArrivals(() => warmed + caught.msgs.length, WARM);
  // Preparation, not the measured feed: its count is reported (and its rows checked below).
  t.diagnostic(`warm-up: ${warmed} of ${WARM} messages at ${WARM_RATE} msgs/s arrived before the measured feed`);

  // What the broker logs from here on is about the measured feed (a cold process may make it
  // drop some of the warm-up feed: that is what the warm-up is for).
  const logFrom = broker.log().length;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const gcs = [];
  const gcObs = new PerformanceObserver((list) => gcs.push(...list.getEntries().map((e) => e.duration)));
  gcObs.observe({ entryTypes: ['gc'] });
  publisher.run();
  const published = await publisher.done(MESSAGES / RATE * 1000 + 60000);
  assert.equal(published.acked, MESSAGES, 'the broker did not take every message from the publisher');
  t.diagnostic(`publisher: ${published.acked} messages in ${published.secs.toFixed(2)} s (${Math.round(published.acked / published.secs)} msgs/s), at most ${published.maxBehind} behind its schedule`);
  // Every message reaches the Complete node once its commit returned (at most ~1 s after the
  // last one arrived), unless the broker dropped it.
  // Bounded: 60 s at most, and no more than 5 s without progress (dropped messages never come).
  await waitForArrivals(() => completed + caught.msgs.length, MESSAGES);
  delay.disable();
  gcObs.disconnect();
  t.diagnostic(`GC: ${gcs.length} pauses, ${gcs.reduce((a, b) => a + b, 0).toFixed(0)} ms in all, longest ${Math.max(0, ...gcs).toFixed(1)} ms`);
  t.diagnostic(`event-loop delay while ingesting: p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms (1 ms resolution; not asserted: timing on a shared machine)`);

  const brokerLog = broker.log().slice(logFrom);
  for (const line of brokerLog.split('\n').slice(-10)) t.diagnostic(`mosquitto: ${line}`);
  const dropped = brokerLog.split('\n').filter((l) => /dropped/i.test(l));
  t.diagnostic(`warm-up messages arrived in all: ${warmed} of ${WARM}`);
  return { completed, warmed, caught, dropped };
}

/** Set by the anchor test: how many messages the flow without gpss-write lost on this machine. */
let anchor = null;

test('anchor: the same flow without gpss-write (mqtt in → a counting node) at 10,000 msgs/s on this machine', async (t) => {
  const { completed, caught, dropped } = await ingest(t, { gpss: false });
  anchor = { lost: MESSAGES - completed, dropped };
  t.diagnostic(`anchor: ${completed} of ${MESSAGES} arrived; mosquitto dropped messages: ${dropped.length ? 'yes' : 'no'}`);
  assert.deepEqual(caught.msgs, [], 'nothing may reach Catch in the anchor flow');
  // What is lost here is lost before any node of ours: only dropped messages may be missing.
  if (!dropped.length) assert.equal(completed, MESSAGES, 'messages at the counting node');
});

test('mqtt in → gpss-write: 50,000 QoS 1 messages at 10,000 msgs/s all reach the table, none in Catch', async (t) => {
  if (!anchor) throw new Error('the anchor test did not run first');
  if (anchor.dropped.length) {
    // On this machine Node-RED's own mqtt in cannot take 10,000 QoS 1 msgs/s from mosquitto
    // without the broker dropping messages, with no node of ours in the flow: whatever the flow
    // through gpss-write then loses says nothing about gpss-write. Reported as skipped (never
    // as passed), with the anchor's figures.
    t.skip(`inconclusive on this machine: the anchor flow without gpss-write already lost ${anchor.lost} of ${MESSAGES} messages (mosquitto dropped them)`);
    return;
  }
  const { completed, warmed, caught, dropped } = await ingest(t, { gpss: true });
  // Every warm-up message gpss-write acknowledged is in the table too.
  const warmRows = (await S.query(pg.url, `SELECT count(*)::int AS n FROM mqtt_rows WHERE id >= ${WARM_FIRST_ID}`)).rows[0].n;
  assert.equal(warmRows, warmed, 'warm-up rows in the table vs acknowledged warm-up messages');
  const rowsIn = (await S.query(pg.url, `SELECT count(*)::int AS n FROM mqtt_rows WHERE id < ${WARM_FIRST_ID}`)).rows[0].n;
  t.diagnostic(`${rowsIn} rows in the table, ${completed} at the Complete node, ${caught.msgs.length} in Catch`);
  assert.deepEqual(caught.msgs.map((m) => m.error && m.error.message), [], 'messages in Catch');
  assert.deepEqual(dropped, [], 'mosquitto dropped messages for Node-RED');
  assert.equal(rowsIn, MESSAGES, 'rows in the table');
  const r = await S.query(pg.url, `SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids, min(id) AS lo, max(id) AS hi FROM mqtt_rows WHERE id < ${WARM_FIRST_ID}`);
  assert.deepEqual(r.rows[0], { n: MESSAGES, ids: MESSAGES, lo: 0, hi: MESSAGES - 1 }, 'rows in the table');
  assert.equal(completed, MESSAGES, 'messages at the Complete node');
  const sample = await S.query(pg.url, 'SELECT id, device, v FROM mqtt_rows WHERE id = 12345');
  assert.deepEqual(sample.rows[0], { id: 12345, device: 'dev-45', v: 6172.5 });
});

test('example mqtt-ingest: readings published to the broker land in sensor_readings; the Complete node counts them', async (t) => {
  const flow = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'examples', 'gpss', 'mqtt-ingest.json'), 'utf8'));
  const creds = {};
  for (const n of flow) {
    if (n.type === 'greenplum-db') {
      Object.assign(n, { host: pg.host, port: pg.port, database: pg.database, user: pg.user });
      creds[n.id] = { password: pg.password };
    }
    if (n.type === 'mqtt-broker') n.port = String(broker.port);
  }
  const byName = (name) => flow.find((n) => n.name === name);
  const CORE = path.dirname(require.resolve('@node-red/nodes/package.json'));
  const core = ['common/21-debug.js', 'common/90-comment.js', 'function/10-function.js'].map((f) => require(path.join(CORE, 'core', f)));
  await S.helper.load([...S.NODES, MQTT_NODES, ...core], flow, creds);
  const errors = S.collect(S.helper.getNode(byName('error + row').id));
  const counter = S.helper.getNode(byName('count committed').id);
  const statuses = [];
  counter.on('call:status', (call) => statuses.push(call.args[0]));
  const mqtt = require('mqtt');
  const client = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, { clientId: `gpflow-example-pub-${process.pid}`, reconnectPeriod: 0 });
  t.after(() => client.end(true));
  await new Promise((resolve, reject) => (client.once('connect', resolve), client.once('error', reject)));
  // Probe until Node-RED is connected and subscribed (probe readings are told apart by device).
  const reading = (i) => JSON.stringify({ device_id: `sensor-${i % 10}`, ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), temperature: 20 + (i % 50) / 10, humidity: 40 });
  const readings = async (device) => (await S.query(pg.url, 'SELECT count(*)::int AS n FROM sensor_readings WHERE device_id LIKE $1', [device])).rows[0].n;
  await S.until(async () => {
    client.publish('sensors/probe/reading', JSON.stringify({ device_id: 'probe', ts: new Date().toISOString() }), { qos: 1 });
    return (await readings('probe')) > 0;
  }, 30000, 1500);
  for (let i = 0; i < 1000; i++) client.publish(`sensors/sensor-${i % 10}/reading`, reading(i), { qos: 1 });
  await S.until(async () => (await readings('sensor-%')) >= 1000, 30000);
  assert.deepEqual(errors.msgs.map((m) => m.error.message), []);
  assert.equal(await readings('sensor-%'), 1000);
  // The function node behind the Complete node shows its count (at most once a second).
  await S.until(() => statuses.some((st) => /\d+ committed/.test(st.text)), 10000);
});
