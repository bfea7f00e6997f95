'use strict';
// The `oss-emulator` CLI as a separate process: argument handling, a large object streamed
// through it with bounded memory (its peak RSS stays far below the object size), clean
// shutdown on SIGTERM and data that survives a restart.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { Readable } = require('node:stream');
const OSS = require('ali-oss');

const CLI = path.join(__dirname, '..', 'dist', 'oss-emulator', 'cli.js');

function startCli(args) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`oss-emulator exited with ${code}: ${err}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, ready, exited, output: () => out };
}

function peakRssKb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]);
}

const SIZE = 192 * 1024 * 1024;
const BLOCK = crypto.randomBytes(1024 * 1024);
function bigStream() {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= SIZE) { this.push(null); return; }
      // Vary each block so a stuck or reordered chunk would change the digest.
      const block = Buffer.from(BLOCK);
      block.writeUInt32BE(sent / BLOCK.length, 0);
      sent += block.length;
      this.push(block);
    },
  });
}

test('--help and bad arguments', () => {
  const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--fault-kinds/);
  const bad = spawnSync(process.execPath, [CLI, '--fault-kinds', '500,explode'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown fault kind "explode"/);
  const unknown = spawnSync(process.execPath, [CLI, '--nope'], { encoding: 'utf8' });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown option "--nope"/);
  const rate = spawnSync(process.execPath, [CLI, '--fault-rate', '7'], { encoding: 'utf8' });
  assert.equal(rate.status, 2);
  assert.match(rate.stderr, /--fault-rate/);
});

test('a 192 MiB object streams through the CLI emulator with bounded memory and survives a restart', { timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-oss-cli-'));
  const args = ['--listen', '127.0.0.1:0', '--data', dir, '--access-key-id', 'cli-id', '--access-key-secret', 'cli-secret',
    '--bucket', 'cli-bucket', '--bucket', 'cli-other', '--quiet'];
  let run = startCli(args);
  try {
    const endpoint = await run.ready;
    assert.doesNotMatch(run.output(), /cli-secret/, 'the secret is never printed');
    const client = new OSS({ region: 'oss-cn-hangzhou', endpoint, bucket: 'cli-bucket', accessKeyId: 'cli-id', accessKeySecret: 'cli-secret', secure: false, timeout: 120_000 });
    const sent = crypto.createHash('md5');
    const src = bigStream();
    src.on('data', (d) => sent.update(d));
    await client.putStream('big/object.bin', src);
    const expected = sent.digest('hex').toUpperCase();
    const head = await client.head('big/object.bin');
    assert.equal(Number(head.res.headers['content-length']), SIZE);
    assert.equal(head.res.headers.etag, `"${expected}"`);
    const { stream } = await client.getStream('big/object.bin');
    const got = crypto.createHash('md5');
    let n = 0;
    for await (const chunk of stream) { got.update(chunk); n += chunk.length; }
    assert.equal(n, SIZE);
    assert.equal(got.digest('hex').toUpperCase(), expected);
    const peak = peakRssKb(run.child.pid);
    t.diagnostic(`emulator peak RSS ${peak} kB for a ${SIZE / 1024} kB object`);
    assert.ok(peak < 150 * 1024, `emulator peak RSS ${peak} kB should stay well below the ${SIZE / 1024} kB object`);

    run.child.kill('SIGTERM');
    assert.deepEqual(await run.exited, { code: 0, signal: null });

    run = startCli(args);
    const again = await run.ready;
    const c2 = new OSS({ region: 'oss-cn-hangzhou', endpoint: again, bucket: 'cli-bucket', accessKeyId: 'cli-id', accessKeySecret: 'cli-secret', secure: false });
    const h2 = await c2.head('big/object.bin');
    assert.equal(h2.res.headers.etag, `"${expected}"`);
    await assert.rejects(
      new OSS({ region: 'oss-cn-hangzhou', endpoint: again, bucket: 'cli-bucket', accessKeyId: 'cli-id', accessKeySecret: 'wrong', secure: false }).head('big/object.bin'),
      (err) => err.status === 403 && err.code === 'SignatureDoesNotMatch',
    );
  } finally {
    run.child.kill('SIGTERM');
    await run.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--fault-rate 1 --fault-kinds 503 makes every request fail with 503', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-oss-cli-'));
  const run = startCli(['--listen', '127.0.0.1:0', '--data', dir, '--bucket', 'cli-bucket', '--fault-rate', '1', '--fault-kinds', '503']);
  try {
    const endpoint = await run.ready;
    const client = new OSS({ region: 'oss-cn-hangzhou', endpoint, bucket: 'cli-bucket', accessKeyId: 'devkey', accessKeySecret: 'devsecret', secure: false });
    for (let i = 0; i < 3; i++) {
      await assert.rejects(client.put(`k${i}`, Buffer.from('x')), (err) => err.status === 503 && err.code === 'ServiceUnavailable');
    }
    assert.match(run.output(), /PUT \/cli-bucket\/k0 PutObject 503 fault=503/);
  } finally {
    run.child.kill('SIGTERM');
    await run.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
