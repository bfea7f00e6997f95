#!/usr/bin/env node
// Build: compile src/ to dist/ (CommonJS, incremental) and place each node's editor
// files (nodes/<type>.html, nodes/locales/, nodes/icons/) beside its compiled
// dist/nodes/<type>.js, which is where Node-RED looks for them.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const clean = process.argv.includes('--clean');

if (clean) fs.rmSync(dist, { recursive: true, force: true });

const tsc = require.resolve('typescript/bin/tsc');
const started = Date.now();
const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], {
  stdio: 'inherit',
  cwd: root,
});
if (result.status !== 0) {
  console.error('build: TypeScript reported errors (see above)');
  process.exit(result.status || 1);
}

/** Copy a file only when its content changed, so the build stays incremental. */
function copyIfChanged(from, to) {
  const src = fs.readFileSync(from);
  try {
    if (fs.readFileSync(to).equals(src)) return false;
  } catch {
    /* missing: copy */
  }
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.writeFileSync(to, src);
  return true;
}

function copyTree(fromDir, toDir) {
  if (!fs.existsSync(fromDir)) return 0;
  let copied = 0;
  for (const entry of fs.readdirSync(fromDir, { withFileTypes: true })) {
    const from = path.join(fromDir, entry.name);
    const to = path.join(toDir, entry.name);
    if (entry.isDirectory()) copied += copyTree(from, to);
    else if (copyIfChanged(from, to)) copied++;
  }
  return copied;
}

const editorDir = path.join(root, 'nodes');
let copied = 0;
if (fs.existsSync(editorDir)) {
  for (const entry of fs.readdirSync(editorDir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.html')) {
      if (copyIfChanged(path.join(editorDir, entry.name), path.join(dist, 'nodes', entry.name))) copied++;
    }
  }
  copied += copyTree(path.join(editorDir, 'locales'), path.join(dist, 'nodes', 'locales'));
  copied += copyTree(path.join(editorDir, 'icons'), path.join(dist, 'nodes', 'icons'));
}
console.error(`build: ok in ${Date.now() - started} ms (${copied} editor file(s) updated)`);
