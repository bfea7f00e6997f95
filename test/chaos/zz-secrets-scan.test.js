'use strict';
// Secrets scan, after the fault suites (this file sorts last): everything they produced under
// RELIABILITY_OUT/artifacts (flows files, /flows responses, messages seen at Catch, Complete and
// debug nodes, status texts, Node-RED, gpss-pg, PostgreSQL and emulator logs) is searched for
// every password and secret the suites used — as is, URL-encoded, base64 and hex. 0 hits.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const C = require('./support');

function filesUnder(dir) {
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(full));
    else if (e.isFile()) out.push(full);
  }
  return out;
}

/** The forms a secret could leak in. */
function needles(secret) {
  return [...new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('hex')])].map((s) => Buffer.from(s));
}

/** [{ file, secret }] for every file under `dirs` that holds any form of any secret. */
function scan(dirs, secrets) {
  const hits = [];
  for (const file of dirs.flatMap(filesUnder)) {
    const body = fs.readFileSync(file);
    for (const [name, value] of Object.entries(secrets)) {
      if (needles(value).some((n) => body.includes(n))) hits.push({ file, secret: name });
    }
  }
  return hits;
}

test('the scanner finds a planted secret in every form it looks for', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-scan-'));
  try {
    const secret = 'Pw' + 'planted0123456789abcdef';
    fs.writeFileSync(path.join(dir, 'a.log'), `url postgres://u:${encodeURIComponent(secret)}@h/db`);
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub', 'b.json'), JSON.stringify({ x: Buffer.from(secret).toString('base64') }));
    fs.writeFileSync(path.join(dir, 'c.txt'), 'nothing here');
    assert.deepEqual(scan([dir], { s: secret }).map((h) => path.relative(dir, h.file)).sort(), ['a.log', path.join('sub', 'b.json')]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('no password or secret of the fault suites appears in anything they produced', () => {
  const out = C.outDir();
  const secrets = C.secrets();
  const artifacts = path.join(out, 'artifacts');
  const files = filesUnder(artifacts);
  const suites = fs.existsSync(artifacts) ? fs.readdirSync(artifacts) : [];
  process.stdout.write(`# scanned ${files.length} files from ${suites.length} suites (${suites.join(', ')}), ${(files.reduce((n, f) => n + fs.statSync(f).size, 0) / 1048576).toFixed(1)} MB\n`);
  assert.ok(files.length > 0, `no artifacts to scan under ${artifacts}: run the fault suites first (npm run test:chaos)`);
  const hits = scan([artifacts, path.join(out, 'results')], secrets);
  C.record({ id: 'secrets-scan', scenario: 'secrets scan of every artifact of the fault suites', node: 'all', mode: '-', files: files.length, suites: suites.length, hits: hits.length });
  assert.deepEqual(hits.map((h) => `${path.relative(out, h.file)}: ${h.secret}`), [], 'secrets found in artifacts');
});
