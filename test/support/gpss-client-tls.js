'use strict';
// Test-only PKI for the GPSS client TLS tests: a throwaway CA and one leaf certificate for
// 127.0.0.1 (usable as server and client certificate), and a second CA with a leaf of its own,
// made with the openssl CLI.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

function makePki() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpss-client-tls-'));
  const p = (f) => path.join(dir, f);
  const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=gpss-client test CA');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('leaf.key'), '-out', p('leaf.csr'), '-subj', '/CN=127.0.0.1');
    fs.writeFileSync(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
    ssl('x509', '-req', '-in', p('leaf.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('leaf.crt'), '-days', '2', '-extfile', p('ext.cnf'));
    // A second, unrelated CA: certificates it did not sign must be refused.
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('other.key'), '-out', p('other.crt'), '-days', '2', '-subj', '/CN=other CA');
    // A leaf of that other CA: a client certificate a mutual-TLS server must refuse.
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('stranger.key'), '-out', p('stranger.csr'), '-subj', '/CN=127.0.0.1');
    ssl('x509', '-req', '-in', p('stranger.csr'), '-CA', p('other.crt'), '-CAkey', p('other.key'), '-CAcreateserial', '-out', p('stranger.crt'), '-days', '2', '-extfile', p('ext.cnf'));
    const read = (f) => fs.readFileSync(p(f));
    return {
      ca: read('ca.crt'),
      cert: read('leaf.crt'),
      key: read('leaf.key'),
      otherCa: read('other.crt'),
      otherCert: read('stranger.crt'),
      otherKey: read('stranger.key'),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { makePki };
