// Status texts from the nodes' locale files (nodes/locales/<lang>/<type>.json). In Node-RED the
// node's RED._ translates them; a runtime without the message catalogs (node-red-node-test-helper
// answers every key with itself) gets the en-US text read from the same file, so the texts live
// in the locale files only.
import * as fs from 'node:fs';
import * as path from 'node:path';

type Vars = Record<string, string | number>;
type Translate = (key: string, vars?: Vars) => string;

const catalogs = new Map<string, Record<string, unknown> | null>();

function catalog(type: string): Record<string, unknown> | null {
  if (!catalogs.has(type)) {
    let data: Record<string, unknown> | null = null;
    try {
      data = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'locales', 'en-US', `${type}.json`), 'utf8')) as Record<string, unknown>;
    } catch {
      data = null;
    }
    catalogs.set(type, data);
  }
  return catalogs.get(type) ?? null;
}

/** i18next's default interpolation (`__name__`), which Node-RED uses. */
function interpolate(text: string, vars?: Vars): string {
  if (!vars) return text;
  return text.replace(/__(\w+)__/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}

/** The en-US text of `key` ('gpss-write.status.committed') from `type`'s locale file. */
export function catalogText(type: string, key: string, vars?: Vars): string | null {
  let v: unknown = catalog(type);
  for (const part of key.split('.')) {
    if (!v || typeof v !== 'object') return null;
    v = (v as Record<string, unknown>)[part];
  }
  return typeof v === 'string' ? interpolate(v, vars) : null;
}

/** A translator for one node type's keys: `t('status.committed', { count })`. */
export function translator(RED: { _: Translate }, type: string): (key: string, vars?: Vars) => string {
  return (key, vars) => {
    const full = `${type}.${key}`;
    const text = RED._(full, vars);
    if (text && text !== full) return text;
    return catalogText(type, full, vars) ?? full;
  };
}
