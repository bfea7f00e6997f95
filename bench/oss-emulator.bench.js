'use strict';
// OSS emulator throughput through the real ali-oss client, against an anchor: a bare
// loopback HTTP server that accepts the same requests without verifying signatures,
// hashing (MD5, CRC-64) or touching the disk (bodies discarded, GETs served from memory).
// The ratio is the price of a faithful emulator; both run in this process, same data.
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { Readable } = require('node:stream');
const OSS = require('ali-oss');
const { startOssEmulator } = require('../dist/oss-emulator');
const { report, bestOf } = require('./support/report');

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const BLOCK = crypto.randomBytes(MiB);
const SMALL = crypto.randomBytes(1024);

function body() {
  let left = SIZE / MiB;
  return new Readable({ read() { this.push(left-- > 0 ? BLOCK : null); } });
}

function startAnchor() {
  const served = Buffer.concat(Array.from({ length: SIZE / MiB }, () => BLOCK));
  const etag = `"${crypto.createHash('md5').update('x').digest('hex').toUpperCase()}"`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    req.resume();
    req.on('end', () => {
      res.setHeader('x-oss-request-id', '0'.repeat(24));
      if (req.method === 'POST' && url.searchParams.has('uploads')) {
        res.setHeader('Content-Type', 'application/xml');
        res.end('<?xml version="1.0"?><InitiateMultipartUploadResult><Bucket>bench-bucket</Bucket><Key>k</Key><UploadId>U1</UploadId></InitiateMultipartUploadResult>');
      } else if (req.method === 'POST' && url.searchParams.has('uploadId')) {
        res.setHeader('Content-Type', 'application/xml');
        res.setHeader('ETag', etag);
        res.end('<?xml version="1.0"?><CompleteMultipartUploadResult><Bucket>bench-bucket</Bucket><Key>k</Key><ETag>"E-1"</ETag></CompleteMultipartUploadResult>');
      } else if (req.method === 'GET') {
        const buf = url.pathname.endsWith('small') ? SMALL : served;
        res.setHeader('Content-Length', buf.length);
        res.setHeader('ETag', etag);
        res.end(buf);
      } else {
        res.setHeader('ETag', etag);
        res.end();
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    endpoint: `http://127.0.0.1:${server.address().port}`,
    stop: () => new Promise((r) => { server.close(r); server.closeAllConnections(); }),
  })));
}

function client(endpoint) {
  return new OSS({ region: 'oss-cn-hangzhou', endpoint, bucket: 'bench-bucket', accessKeyId: 'bench-id', accessKeySecret: 'bench-secret', secure: false, timeout: 120_000 });
}

async function rate(bytes, fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return bytes / MiB / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const cases = {
  'putStream 64 MiB (chunked)': { unit: 'MiB/s', run: (c) => rate(SIZE, () => c.putStream('bench/big', body())) },
  'getStream 64 MiB': {
    unit: 'MiB/s',
    run: (c) => rate(SIZE, async () => {
      const { stream } = await c.getStream('bench/big');
      for await (const _ of stream) { /* drain */ }
    }),
  },
  'multipart 64 MiB, 8 MiB parts x4': {
    unit: 'MiB/s',
    run: (c) => rate(SIZE, async () => {
      const { uploadId } = await c.initMultipartUpload('bench/mp');
      const parts = [];
      let next = 1;
      const buf = Buffer.concat(Array.from({ length: 8 }, () => BLOCK));
      await Promise.all(Array.from({ length: 4 }, async () => {
        for (let n = next++; n <= SIZE / (8 * MiB); n = next++) {
          const r = await c.uploadPart('bench/mp', uploadId, n, buf, 0, buf.length);
          parts.push({ number: n, etag: r.etag });
        }
      }));
      await c.completeMultipartUpload('bench/mp', uploadId, parts);
    }),
  },
  '1 KiB put+get pairs, 16 in flight': {
    unit: 'pairs/s',
    run: async (c) => {
      const n = 800;
      let i = 0;
      const t0 = process.hrtime.bigint();
      await Promise.all(Array.from({ length: 16 }, async () => {
        for (let k = i++; k < n; k = i++) {
          await c.put(`bench/small-${k % 50}`, SMALL);
          await c.get('bench/small');
        }
      }));
      return n / (Number(process.hrtime.bigint() - t0) / 1e9);
    },
  },
};

(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-oss-bench-'));
  const emu = await startOssEmulator({ listen: '127.0.0.1:0', dataDir, accessKeyId: 'bench-id', accessKeySecret: 'bench-secret', buckets: ['bench-bucket'] });
  const anchor = await startAnchor();
  const ours = client(emu.endpoint);
  const theirs = client(anchor.endpoint);
  await ours.put('bench/small', SMALL);
  const rows = [];
  try {
    for (const [name, c] of Object.entries(cases)) {
      // Alternate so that neither side always runs on a warmer machine.
      const o = await bestOf(3, () => c.run(ours));
      const a = await bestOf(3, () => c.run(theirs));
      rows.push({ case: name, unit: c.unit, ours: o, anchor: a, anchorName: 'bare loopback HTTP sink/source' });
    }
  } finally {
    await emu.stop();
    await anchor.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  report('oss-emulator', rows);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
