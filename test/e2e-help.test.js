'use strict';
// The five flow nodes' help as the real editor renders it (Node-RED 4.1 in Chromium, the help
// sidebar): every Inputs and Outputs property must land inside a <dl class="message-properties">
// (for several outputs, inside the <ol class="node-ports"> items). Node-RED's markdown extension
// for `: name (type) : description` lines accepts no further ':' in a line: one stray colon ends
// the list and the remaining entries render as loose <dt>/<dd> in a paragraph, or the
// description loses its start. The expected entries are read from nodes/<type>.html itself.
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const ui = require('./support/browser-editor');

const FLOW_TYPES = ['gpss-connect', 'gpss-write', 'gpss-close', 'oss-export', 'oss-import'];

/** The help script of a node type: { format: 'markdown' | 'html', text }. */
function helpSource(type) {
  const html = fs.readFileSync(path.join(__dirname, '..', 'nodes', `${type}.html`), 'utf8');
  const m = new RegExp(`<script type="text/(markdown|html)" data-help-name="${type}">([\\s\\S]*?)</script>`).exec(html);
  assert.ok(m, `${type}: a help script in nodes/${type}.html`);
  return { format: m[1], text: m[2] };
}

/** The source text of one section (### Inputs / <h3>Inputs</h3>) up to the next heading. */
function sourceSection(src, title) {
  const heading = src.format === 'markdown' ? new RegExp(`^###\\s+${title}\\s*$`, 'm') : new RegExp(`<h3>\\s*${title}\\s*</h3>`);
  const m = heading.exec(src.text);
  if (!m) return null;
  const rest = src.text.slice(m.index + m[0].length);
  const next = src.format === 'markdown' ? /^###\s/m.exec(rest) : /<h3>/.exec(rest);
  return next ? rest.slice(0, next.index) : rest;
}

/** Expected entries of a section: [{ name, description }] (description only for markdown). */
function expectedEntries(src, title) {
  const section = sourceSection(src, title);
  if (section === null) return null;
  if (src.format === 'html') {
    return [...section.matchAll(/<dt[^>]*>([\s\S]*?)<\/dt>/g)].map((m) => ({
      name: m[1].replace(/<span[\s\S]*?<\/span>/g, '').replace(/<[^>]+>/g, '').trim(),
    }));
  }
  const plain = (s) => s.replace(/[`*]/g, '').trim();
  return section
    .split('\n')
    .filter((l) => /^\s*:/.test(l))
    .map((l) => {
      const m = /^\s*:([^(]+)\(([^)]+)\)\s*:(.*)$/.exec(l);
      assert.ok(m, `malformed property line: ${l}`);
      return { name: plain(m[1]), description: plain(m[3]) };
    });
}

describe('flow node help in the editor sidebar (Chromium)', () => {
  const session = ui.useEditorSession();
  let page;
  before(() => ({ page } = session));

  for (const type of FLOW_TYPES) {
    it(`${type}: every Inputs and Outputs entry renders inside a message-properties list`, async () => {
      const src = helpSource(type);
      // The help sidebar as the book button / "show help" action fills it.
      const rendered = await page.evaluate((t) => {
        RED.sidebar.help.show(t);
        const title = document.querySelector('.red-ui-help-title');
        const root = title && title.parentElement.querySelector('.red-ui-help');
        if (!root) return null;
        const sections = {};
        for (const h3 of root.querySelectorAll('h3')) {
          const name = h3.textContent.trim();
          if (name !== 'Inputs' && name !== 'Outputs') continue;
          const elements = [];
          for (let el = h3.nextElementSibling; el && el.tagName !== 'H3'; el = el.nextElementSibling) elements.push(el);
          sections[name] = {
            // Every element between this heading and the next: a property list, or a port list
            // whose every item holds one.
            misplaced: elements
              .filter(
                (el) =>
                  !(el.tagName === 'DL' && el.classList.contains('message-properties')) &&
                  !(el.tagName === 'OL' && el.classList.contains('node-ports') && [...el.children].every((li) => li.querySelector(':scope > dl.message-properties'))),
              )
              .map((el) => el.outerHTML.slice(0, 200)),
            // <dt>s anywhere in the section, and those inside a property list.
            allDt: elements.reduce((n, el) => n + (el.tagName === 'DT' ? 1 : 0) + el.querySelectorAll('dt').length, 0),
            entries: elements.flatMap((el) =>
              [...el.querySelectorAll('dl.message-properties > dt')].map((dt) => {
                const type = dt.querySelector('.property-type');
                const dd = dt.nextElementSibling;
                return {
                  name: [...dt.childNodes].filter((n) => n !== type).map((n) => n.textContent).join('').trim(),
                  type: type ? type.textContent.trim() : '',
                  description: dd && dd.tagName === 'DD' ? dd.textContent.replace(/\s+/g, ' ').trim() : null,
                };
              }),
            ),
            // Raw markdown left in the text: a line starting with ':'.
            rawLines: elements.map((el) => el.innerText).join('\n').split('\n').filter((l) => /^\s*:/.test(l)),
          };
        }
        return sections;
      }, type);
      assert.ok(rendered, `${type}: the help sidebar shows the node's help`);
      for (const title of ['Inputs', 'Outputs']) {
        const expected = expectedEntries(src, title);
        assert.ok(expected && expected.length > 0, `${type}: the help source has ${title} entries`);
        const got = rendered[title];
        assert.ok(got, `${type}: the rendered help has an ${title} section`);
        assert.deepEqual(got.misplaced, [], `${type} ${title}: only property lists under the heading`);
        assert.deepEqual(got.rawLines, [], `${type} ${title}: no unrendered ': name (type) :' lines`);
        assert.equal(got.allDt, got.entries.length, `${type} ${title}: every <dt> is inside a dl.message-properties`);
        assert.deepEqual(
          got.entries.map((e) => e.name),
          expected.map((e) => e.name),
          `${type} ${title}: the entries of the source, in order, in the property lists`,
        );
        for (const [i, e] of got.entries.entries()) {
          assert.ok(e.description, `${type} ${title} ${e.name}: has a description`);
          if (src.format === 'markdown') {
            assert.ok(e.type.length > 0, `${type} ${title} ${e.name}: has a type`);
            assert.equal(e.description, expected[i].description, `${type} ${title} ${e.name}: the whole description`);
          }
        }
      }
    });
  }
});
