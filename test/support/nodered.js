'use strict';
// Node-RED fixture for e2e and packaging tests: a real Node-RED runtime (4.1, the
// devDependency, unless GPFLOW_NODE_RED_DIR names another; see node-red-runtime.js) in a child
// process with a fresh temp userDir, this repository linked into userDir/node_modules
// (or nothing linked, when a test npm-installs a tarball), on a free loopback port.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startNodeRed } = require('../../dist/devstack/node-red');
const { freePort } = require('../../dist/devstack/postgres');
const admin = require('../../dist/devstack/admin-api');
const { redJs } = require('./node-red-runtime');

const REPO = path.resolve(__dirname, '..', '..');
const CREDENTIAL_SECRET = 'e2e-credential-secret';

/**
 * Starts Node-RED. options.link (default true) links this repo; options.userDir reuses a
 * directory; options.credentialSecret replaces the default one. Returns the running runtime plus admin helpers and cleanup().
 */
async function startTestNodeRed(options = {}) {
  const userDir = options.userDir || fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-nr-'));
  const ownDir = !options.userDir;
  const port = await freePort();
  const red = await startNodeRed({
    userDir,
    port,
    credentialSecret: options.credentialSecret || CREDENTIAL_SECRET,
    linkPackages: options.link === false ? [] : [REPO],
    // The devDependency's Node-RED, or the one of GPFLOW_NODE_RED_DIR (test-node-red-versions).
    redJs,
    env: options.env,
  });
  return {
    ...red,
    getFlows: () => admin.getFlows(red.url),
    deployFlows: (flows) => admin.deployFlows(red.url, flows),
    getNodeSets: () => admin.getNodeSets(red.url),
    request: (method, p, body, headers) => admin.adminRequest(red.url, method, p, body, headers),
    async cleanup() {
      await red.stop();
      if (ownDir && !process.env.KEEP_E2E_USERDIR) fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

module.exports = { startTestNodeRed, REPO, CREDENTIAL_SECRET };
