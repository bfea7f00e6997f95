'use strict';
// An IoT source in its own process (so that a stalled Node-RED event loop cannot slow it down,
// as with a real device fleet): connects to an MQTT broker and, on the parent's word, publishes
// `count` QoS 1 JSON messages at a steady `rate` per second in 10 ms ticks.
// argv: url count rate. IPC in: 'probe' (one message on topic probe/1), 'run'.
// IPC out: { ready }, { done: { published, acked, secs } }, { error }.
const mqtt = require('mqtt');

const [url, countArg, rateArg] = process.argv.slice(2);
const count = Number(countArg);
const rate = Number(rateArg);
const TICK_MS = 10;

function fail(err) {
  process.send({ error: err instanceof Error ? err.message : String(err) }, () => process.exit(1));
}

const client = mqtt.connect(url, { clientId: `gpflow-test-pub-${process.pid}`, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10000 });
client.on('error', fail);
client.once('connect', () => process.send({ ready: true }));

function run() {
  let published = 0;
  let acked = 0;
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
      client.end(false, () => process.send({ done: { published, acked, secs } }, () => process.exit(0)));
    }
  };
  const tick = () => {
    const due = Math.min(count, Math.floor((elapsedMs() * rate) / 1000));
    while (published < due) {
      const i = published++;
      client.publish(`sensors/${i % 10}`, JSON.stringify({ id: i, device: `dev-${i % 100}`, v: i / 2 }), { qos: 1 }, onAck);
    }
    if (published < count) setTimeout(tick, TICK_MS - (elapsedMs() % TICK_MS));
  };
  setTimeout(tick, TICK_MS);
}

process.on('message', (m) => {
  if (m === 'probe') client.publish('probe/1', JSON.stringify({ probe: true }), { qos: 1 });
  else if (m === 'run') run();
});
process.on('disconnect', () => process.exit(0));
