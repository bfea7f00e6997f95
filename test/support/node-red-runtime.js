'use strict';
// Which Node-RED the node suites run on: the project's own devDependency, or the one in the
// directory named by GPFLOW_NODE_RED_DIR (a folder holding node_modules/node-red, installed
// by scripts/test-node-red-versions.js to run the same suites on Node-RED 4.0 and 5).
const path = require('node:path');

const dir = process.env.GPFLOW_NODE_RED_DIR;
const searchPaths = dir ? [path.resolve(dir)] : [path.resolve(__dirname, '..', '..')];

/** node-red's main module (what node-red-node-test-helper's init() wants). */
const nodeRedMain = require.resolve('node-red', { paths: searchPaths });
const nodeRedDir = path.dirname(require.resolve('node-red/package.json', { paths: searchPaths }));
const nodeRedVersion = require(path.join(nodeRedDir, 'package.json')).version;

/** The folder of @node-red/nodes belonging to that node-red (core nodes: inject, debug…). */
const coreNodesDir = path.dirname(require.resolve('@node-red/nodes/package.json', { paths: [nodeRedDir] }));

/** A core node module by its path under @node-red/nodes/core, e.g. 'common/20-inject.js'. */
function coreNode(file) {
  return require(path.join(coreNodesDir, 'core', file));
}

if (dir) console.log(`node-red-runtime: Node-RED ${nodeRedVersion} from ${nodeRedDir} on Node ${process.version}`);

module.exports = { nodeRedMain, nodeRedDir, nodeRedVersion, coreNodesDir, coreNode, redJs: path.join(nodeRedDir, 'red.js') };
