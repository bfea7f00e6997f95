'use strict';
// An IoT source in its own process (so that a stalled Node-RED event loop cannot slow it down,
// as with a real device fleet): connects to an MQTT broker and, on the parent's word, publishes
// `count` QoS 1 JSON messages at a steady `rate` per second in 10 ms ticks.
// argv: url count rate. IPC in: 'probe' (one message on topic probe/1), 'run' (the feed, then
// the publisher ends), or { warm: { count, rate, firstId } } (a slower feed of other ids first,
// so that Node-RED is warmed up as a running one is: the first second of a cold process is lazy
// compilation, which stalls even a flow without any node of ours; IPC out { warmed }).
// IPC out: { ready }, { done: { published, acked, secs } }, { error }.
const mqtt = require('mqtt');

const [url, countArg, rateArg] = process.argv.slice(2);
const feedCount = Number(countArg);
const feedRate = Number(rateArg);
const TICK_MS = 10;

function fail(err) {
  process.send({ error: err instanceof Error ? err.message : String(err) }, () => process.exit(1));
}

const client = mqtt.connect(url, { clientId: `gpflow-test-pub-${process.pid}`, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10000 });
client.on('error', fail);
client.once('connect', () => process.send({ ready: true }));

function run(count, rate, firstId) {
  const CATCH_UP_PER_TICK = Math.ceil((2 * rate * TICK_MS) / 1000);
  let published = 0;
  let acked = 0;
  let maxBehind = 0;
  const t0 = process.hrtime.bigint();
  const elapsedMs = () => Number(process.hrtime.bigint() - t0) / 1e6;
  // Bounded: the feed takes count / rate seconds; the broker must have acknowledged it all soon after.
  const limit = setTimeout(() => fail(new Error(`publisher: ${acked} of ${count} acknowledged by the broker in time`)), (count / rate) * 1000 + 60000);
  const onAck = (err) => {
    if (err) return fail(err);
    acked++;
    if (acked === count) {
      clearTimeout(limit);
      const secs = elapsedMs() / 1000;
      const report = { published, acked, secs, maxBehind };
      if (firstId !== 0) process.send({ warmed: report });
      else client.end(false, () => process.send({ done: report }, () => process.exit(0)));
    }
  };
  const tick = () => {
    const due = Math.min(count, Math.floor((elapsedMs() * rate) / 1000));
    maxBehind = Math.max(maxBehind, due - published);
    // A late timer (this process waiting for a CPU) must not turn into one burst of thousands
    // of messages: a fleet of devices does not catch up in one go. Catch up at twice the rate.
    const upTo = Math.min(due, published + CATCH_UP_PER_TICK);
    while (published < upTo) {
      const i = firstId + published++;
      client.publish(`sensors/${i % 10}`, JSON.stringify({ id: i, device: `dev-${i % 100}`, v: i / 2 }), { qos: 1 }, onAck);
    }
    if (published < count) setTimeout(tick, TICK_MS - (elapsedMs() % TICK_MS));
  };
  setTimeout(tick, TICK_MS);
}

process.on('message', (m) => {
  if (m === 'probe') client.publish('probe/1', JSON.stringify({ probe: true }), { qos: 1 });
  else if (m === 'run') run(feedCount, feedRate, 0);
  else if (m && m.warm) run(m.warm.count, m.warm.rate, m.warm.firstId);
});
process.on('disconnect', () => process.exit(0));
