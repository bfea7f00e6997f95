'use strict';
// The offline part of the Flow Library scorecard (`node-red-dev validate`, spec/node-red.md §5),
// re-implemented as tests so a regression fails `npm test` without network access.
//
// What needs the network and is NOT checked here (run `npx node-red-dev validate -p .` with
// network before a release): N01 (no other catalogue module declares our types: needs
// catalogue.nodered.org), P06/D03 against the registry's *current* dist-tags and latest
// versions (we check them against the installed versions and for an open upper bound instead),
// P08 (similar names in other scopes; never flags anyway).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
// acorn and semver are what node-red-dev itself uses; both come with node-red (devDependency).
const acorn = require('acorn');
const semver = require('semver');

const ROOT = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const CONFIG_TYPES = ['greenplum-db', 'gpss-server', 'oss-account'];
const FLOW_TYPES = ['gpss-connect', 'gpss-write', 'gpss-close', 'oss-export', 'oss-import'];
const ALL_TYPES = [...CONFIG_TYPES, ...FLOW_TYPES];
// Node-RED's own node types (a clash would shadow or be shadowed).
const CORE_TYPES = new Set(collectCoreTypes());

function collectCoreTypes() {
  // Core nodes are the .html files under @node-red/nodes/core/<category>/ (no package list).
  const core = path.join(path.dirname(require.resolve('@node-red/nodes/package.json')), 'core');
  const types = [];
  for (const category of fs.readdirSync(core)) {
    for (const file of fs.readdirSync(path.join(core, category)).filter((f) => f.endsWith('.html'))) {
      const html = fs.readFileSync(path.join(core, category, file), 'utf8');
      for (const m of html.matchAll(/registerType\(\s*['"]([^'"]+)['"]/g)) types.push(m[1]);
    }
  }
  return types;
}

/** Editor HTML of a node file as node-red-dev finds it: the .html beside the listed .js. */
function editorHtmlFor(jsPath) {
  const html = findEditorHtml(jsPath);
  assert.ok(html, `no editor HTML for ${jsPath} (nodes/${path.basename(jsPath, '.js')}.html)`);
  return html;
}

function findEditorHtml(jsPath) {
  const built = path.join(ROOT, jsPath.replace(/\.js$/, '.html'));
  if (fs.existsSync(built)) return fs.readFileSync(built, 'utf8');
  // Before a build, dist/nodes/x.html does not exist yet: the source is nodes/x.html.
  const source = path.join(ROOT, 'nodes', path.basename(built));
  return fs.existsSync(source) ? fs.readFileSync(source, 'utf8') : null;
}

/** node-red-dev's getNodeDefinitions: text/javascript scripts parsed by acorn, literal registerType calls. */
function nodeDefinitions(html) {
  const defs = [];
  for (const m of html.matchAll(/<script[^>]*type=["']text\/javascript["'][^>]*>([\s\S]*?)<\/script>/gi)) {
    const ast = acorn.parse(m[1], { ecmaVersion: 'latest', sourceType: 'script' });
    walk(ast, (node) => {
      if (
        node.type === 'CallExpression' &&
        node.callee.type === 'MemberExpression' &&
        node.callee.property.name === 'registerType' &&
        node.arguments[0] &&
        node.arguments[0].type === 'Literal' &&
        node.arguments[1] &&
        node.arguments[1].type === 'ObjectExpression'
      ) {
        defs.push(node.arguments[0].value);
      }
    });
  }
  return defs;
}

function walk(node, visit) {
  if (!node || typeof node.type !== 'string') return;
  visit(node);
  for (const value of Object.values(node)) {
    if (Array.isArray(value)) value.forEach((v) => walk(v, visit));
    else if (value && typeof value === 'object') walk(value, visit);
  }
}

/** Evaluates the editor scripts with a stub RED to read each definition (category, defaults…). */
function evaluateDefinitions(html) {
  const defs = {};
  const absorb = new Proxy(function () {}, { get: (_t, k) => (k === Symbol.toPrimitive ? () => '' : absorb), apply: () => absorb });
  const RED = new Proxy(
    { nodes: { registerType: (type, def) => (defs[type] = def) }, _: (k) => k, settings: {} },
    { get: (t, k) => (k in t ? t[k] : absorb) },
  );
  // One context for the page, as in the editor: a <script src="resources/<module>/…"> of this
  // package runs first (from the package's resources/ folder), then the inline scripts.
  const context = vm.createContext({ RED, $: absorb, jQuery: absorb, window: absorb, document: absorb, console });
  for (const m of html.matchAll(/<script[^>]*type=["']text\/javascript["'][^>]*>([\s\S]*?)<\/script>/gi)) {
    const src = /\ssrc=["']([^"']+)["']/.exec(m[0].slice(0, m[0].indexOf('>') + 1));
    if (src) {
      const prefix = `resources/${pkg.name}/`;
      assert.ok(src[1].startsWith(prefix), `script ${src[1]} is not under ${prefix}`);
      vm.runInContext(fs.readFileSync(path.join(ROOT, 'resources', src[1].slice(prefix.length)), 'utf8'), context);
    } else {
      vm.runInContext(m[1], context);
    }
  }
  return defs;
}

function helpFor(type, html) {
  const re = new RegExp(`<script[^>]*data-help-name=["']${type}["'][^>]*>([\\s\\S]*?)</script>`, 'i');
  const inline = html.match(re);
  if (inline) return inline[1];
  const locale = path.join(ROOT, 'nodes', 'locales', 'en-US', `${type}.html`);
  if (fs.existsSync(locale)) {
    const m = fs.readFileSync(locale, 'utf8').match(re);
    if (m) return m[1];
  }
  return null;
}

function exampleFiles(dir = path.join(ROOT, 'examples')) {
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...exampleFiles(full));
    else if (e.name.endsWith('.json')) out.push(full);
  }
  return out.sort();
}

test('P01 license is set (Apache-2.0) and LICENSE ships', () => {
  assert.equal(pkg.license, 'Apache-2.0');
  assert.ok(fs.existsSync(path.join(ROOT, 'LICENSE')), 'LICENSE file missing');
});

test('P03 repository and bugs are set', () => {
  assert.match(pkg.repository && pkg.repository.url, /^git\+https:\/\/github\.com\/.+\.git$/);
  assert.match(pkg.bugs && pkg.bugs.url, /^https:\/\//);
});

test('P04 name is scoped (or a node-red-contrib- name)', () => {
  const scoped = /^@[a-z0-9-~][a-z0-9-._~]*\/[a-z0-9-~][a-z0-9-._~]*$/.test(pkg.name);
  assert.ok(scoped || !/^(node-red|nodered)(?!-contrib-)/.test(pkg.name), `bad package name ${pkg.name}`);
});

test('P05 keywords include node-red (the Flow Library rejects packages without it)', () => {
  assert.ok(Array.isArray(pkg.keywords) && pkg.keywords.includes('node-red'));
});

test('P06 node-red.version admits the Node-RED we build on and every later major', () => {
  const range = pkg['node-red'] && pkg['node-red'].version;
  assert.ok(semver.validRange(range), `node-red.version ${range} is not a semver range`);
  const installed = require('node-red/package.json').version;
  assert.ok(semver.satisfies(installed, range), `node-red.version ${range} excludes the installed ${installed}`);
  // The scorecard tests the range against npm's `latest` dist-tag (5.x today): no upper bound.
  for (const future of ['5.0.0', '6.0.0']) assert.ok(semver.satisfies(future, range), `${range} excludes ${future} (fails P06)`);
  // The oldest Node-RED admitted is one the node suites run on (npm run test:node-red-versions: 4.0.x, 5.x).
  assert.ok(semver.satisfies(semver.minVersion(range).version, '~4.0.0 || ~4.1.0 || ^5.0.0'), `${range} admits Node-RED no suite runs on`);
});

test('P07 engines.node is satisfied by the minimum Node of node-red@latest (22.9.0) and admits Node 20', () => {
  const range = pkg.engines && pkg.engines.node;
  assert.ok(semver.satisfies('22.9.0', range), `engines.node ${range} excludes 22.9.0`);
  assert.ok(semver.satisfies('20.0.0', range), `engines.node ${range} excludes Node 20`);
});

test('D01 at most 6 runtime dependencies; node-red is not one of them', () => {
  const deps = Object.keys(pkg.dependencies || {});
  assert.ok(deps.length <= 6, `${deps.length} dependencies: ${deps.join(', ')}`);
  assert.ok(!deps.includes('node-red'), 'node-red must be a devDependency');
});

test('D02 no agent-base < 6.0.0 in the dependency tree', () => {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const bad = Object.entries(lock.packages || {})
    .filter(([p, info]) => /(^|\/)node_modules\/agent-base$/.test(p) && !info.dev && semver.lt(info.version, '6.0.0'))
    .map(([p, info]) => `${p}@${info.version}`);
  assert.deepEqual(bad, []);
});

test('D03 (offline part) every runtime range admits the installed version, with a caret', () => {
  for (const [name, range] of Object.entries(pkg.dependencies || {})) {
    const installed = require(`${name}/package.json`).version;
    assert.ok(semver.satisfies(installed, range), `${name} ${range} excludes installed ${installed}`);
    assert.match(range, /^\^\d/, `${name}: use a caret range so the latest minor/patch stays included`);
  }
});

test('node-red.nodes lists the eight node files, each compiled and with its editor HTML beside it', () => {
  const nodes = pkg['node-red'].nodes;
  assert.deepEqual(Object.keys(nodes).sort(), [...ALL_TYPES].sort());
  for (const [set, file] of Object.entries(nodes)) {
    assert.match(file, /^dist\/nodes\/[\w-]+\.js$/, `${set}: ${file}`);
    assert.ok(fs.existsSync(path.join(ROOT, file)), `${file} missing (build first)`);
    assert.ok(fs.existsSync(path.join(ROOT, file.replace(/\.js$/, '.html'))), `${file.replace(/\.js$/, '.html')} missing`);
  }
});

test('each node HTML registers its type literally (parsable by node-red-dev) with a dialog template and help', () => {
  for (const [set, file] of Object.entries(pkg['node-red'].nodes)) {
    const html = editorHtmlFor(file);
    assert.ok(html, `${set}: no editor HTML`);
    assert.match(html, /<script[^>]*type=["']text\/javascript["']/, `${set}: scripts must be type="text/javascript" for the scorecard parser`);
    assert.deepEqual(nodeDefinitions(html), [set], `${set}: registerType('${set}', { … }) with a literal type and inline object`);
    assert.match(html, new RegExp(`data-template-name=["']${set}["']`), `${set}: no edit dialog template`);
    const help = helpFor(set, html);
    assert.ok(help && help.trim().length > 200, `${set}: help text missing or too short`);
  }
});

test('definitions: config nodes in category config, flow nodes in category greenplum with icons, labels and credentials as passwords', () => {
  for (const [set, file] of Object.entries(pkg['node-red'].nodes)) {
    const defs = evaluateDefinitions(editorHtmlFor(file));
    const def = defs[set];
    assert.ok(def, `${set}: registerType not reached`);
    assert.ok(def.defaults && typeof def.defaults === 'object', `${set}: defaults`);
    assert.ok(typeof def.label === 'function' || typeof def.label === 'string', `${set}: label`);
    if (CONFIG_TYPES.includes(set)) {
      assert.equal(def.category, 'config', `${set}: category`);
    } else {
      assert.equal(def.category, 'greenplum', `${set}: category`);
      assert.equal(def.inputs, 1, `${set}: one input`);
      assert.ok(typeof def.color === 'string' && def.color, `${set}: color`);
      assert.ok(typeof def.icon === 'string' && def.icon, `${set}: icon`);
      if (!/^font-awesome\//.test(def.icon) && !/^node-red\//.test(def.icon)) {
        const stock = path.join(path.dirname(require.resolve('@node-red/nodes/package.json')), 'icons', def.icon);
        const own = path.join(ROOT, 'nodes', 'icons', def.icon);
        assert.ok(fs.existsSync(own) || fs.existsSync(stock), `${set}: icon ${def.icon} not found`);
      }
    }
    // Secrets are credentials of type password, never plain defaults (spec/node-red.md §4.6).
    for (const key of Object.keys(def.defaults)) {
      assert.doesNotMatch(key, /password|secret/i, `${set}: ${key} must be a credential, not a property`);
    }
    for (const [key, cred] of Object.entries(def.credentials || {})) {
      if (/password|secret/i.test(key)) assert.equal(cred.type, 'password', `${set}: credential ${key}`);
    }
  }
});

test('help text of the flow nodes follows the style guide (Inputs, Outputs, Details) and states the delivery guarantee', () => {
  for (const type of FLOW_TYPES) {
    const help = helpFor(type, editorHtmlFor(pkg['node-red'].nodes[type]));
    assert.ok(help, `${type}: no help`);
    assert.match(help, /(<h3>|###)\s*Inputs/, `${type}: Inputs section`);
    assert.match(help, /(<h3>|###)\s*Details/, `${type}: Details section`);
    assert.match(help, /(<h3>|###)\s*Outputs/, `${type}: Outputs section`);
  }
  const writeHelp = helpFor('gpss-write', editorHtmlFor(pkg['node-red'].nodes['gpss-write']));
  assert.match(writeHelp, /at-least-once/i, 'gpss-write help must state the delivery guarantee');
});

test('N01 (offline part) our types are unique in the package and do not clash with core types', () => {
  const seen = new Map();
  for (const [set, file] of Object.entries(pkg['node-red'].nodes)) {
    for (const type of nodeDefinitions(editorHtmlFor(file))) {
      assert.ok(!seen.has(type), `${type} registered by ${seen.get(type)} and ${set}`);
      seen.set(type, set);
      assert.ok(!CORE_TYPES.has(type), `${type} clashes with a Node-RED core type`);
    }
  }
  assert.ok(CORE_TYPES.has('inject') && CORE_TYPES.has('debug'), 'core type list could not be read');
});

test('palette category greenplum has a label in the locales', () => {
  const dir = path.join(ROOT, 'nodes', 'locales', 'en-US');
  assert.ok(fs.existsSync(dir), 'nodes/locales/en-US missing');
  const labels = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))
    .map((m) => m.palette && m.palette.label && m.palette.label.greenplum)
    .filter(Boolean);
  assert.ok(labels.length > 0, 'no messages file defines palette.label.greenplum');
});

test('N02 examples: every file is a JSON array; every flow node type appears in an example, each with a comment node, only core nodes besides ours', () => {
  const files = exampleFiles();
  assert.ok(files.length >= FLOW_TYPES.length - 1, `only ${files.length} example file(s)`);
  const used = new Set();
  const coreAndOurs = new Set([...CORE_TYPES, ...ALL_TYPES, 'tab', 'group', 'junction']);
  for (const file of files) {
    const rel = path.relative(ROOT, file);
    const flow = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.ok(Array.isArray(flow), `${rel} is not a JSON array`);
    assert.ok(flow.some((n) => n.type === 'comment' && (n.info || n.name)), `${rel}: no comment node explaining it`);
    for (const n of flow) {
      assert.ok(n && typeof n.id === 'string' && typeof n.type === 'string', `${rel}: node without id/type`);
      assert.ok(coreAndOurs.has(n.type), `${rel}: uses third-party node type ${n.type}`);
      used.add(n.type);
    }
    // No secrets in examples: credentials are never exported.
    assert.ok(!flow.some((n) => n.credentials && Object.values(n.credentials).some((v) => v)), `${rel} carries credentials`);
  }
  for (const type of FLOW_TYPES) assert.ok(used.has(type), `no example uses ${type}`);
});
