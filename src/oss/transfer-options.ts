// The options of an export or import as settings give them (strings from a dialog or flow
// JSON, or values from a message), checked and typed: transfer mode, COPY format, table name,
// key prefix, object keys, object-name stem. Pure; every error names the option.
import type { FormatOptions, Newline } from './format';
import type { TransferMode } from './detect';
import { boolSetting, SettingError, textSetting } from '../shared/settings';

/** An export/import option was invalid: the one option error (src/shared/settings.ts), with the
 * code the oss nodes have always reported for a bad option (msg.error.code). */
export function optionError(option: string, message: string): SettingError {
  return new SettingError(option, message, 'OSS_NODE_OPTION');
}

/** 'auto' (also for an empty value), 'client' or 'external'. */
export function parseTransferMode(v: unknown): TransferMode {
  const m = textSetting(v) || 'auto';
  if (m !== 'auto' && m !== 'client' && m !== 'external') throw optionError('mode', `mode must be auto, client or external, got ${JSON.stringify(m)}`);
  return m;
}

/** Dialog escapes: the editor stores a TAB typed as "\t" (two characters). */
function unescapeControl(s: string): string {
  return s === '\\t' ? '\t' : s;
}

/** The COPY format options of a settings record (only the ones set, so resolveFormat applies defaults). */
export function formatOptionsFrom(def: Record<string, unknown>): FormatOptions {
  const format = textSetting(def.format) || 'csv';
  if (format !== 'csv' && format !== 'text') throw optionError('format', `format must be csv or text, got ${JSON.stringify(format)}`);
  const f: FormatOptions = { format };
  const raw = (k: string) => (typeof def[k] === 'string' ? (def[k] as string) : undefined);
  const delimiter = raw('delimiter');
  if (delimiter) f.delimiter = unescapeControl(delimiter);
  if (format === 'csv') {
    const q = raw('quote');
    if (q) f.quote = q;
    const e = raw('escape');
    if (e) f.escape = e;
  }
  // Empty means the format's default (TEXT `\N`, CSV unquoted empty string).
  const n = raw('nullString');
  if (n) f.nullString = n;
  f.header = boolSetting(def.header, false, 'header');
  const nl = textSetting(def.newline) || 'LF';
  if (nl !== 'LF' && nl !== 'CR' && nl !== 'CRLF') throw optionError('newline', `newline must be LF, CR or CRLF`);
  f.newline = nl as Newline;
  return f;
}

/** "schema.table", "table" or "\"My Schema\".\"T\"" → { schema?, table }. */
export function parseTableName(v: string): { schema?: string; table: string } {
  const s = v.trim();
  if (!s) throw optionError('table', 'no table given (set it in the dialog or msg.table)');
  const parts: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === '"') {
      let j = i + 1;
      let name = '';
      for (;;) {
        if (j >= s.length) throw optionError('table', `unterminated quoted name in table ${JSON.stringify(v)}`);
        if (s[j] === '"') {
          if (s[j + 1] === '"') {
            name += '"';
            j += 2;
            continue;
          }
          break;
        }
        name += s[j++];
      }
      parts.push(name);
      i = j + 1;
    } else {
      let j = i;
      while (j < s.length && s[j] !== '.') j++;
      parts.push(s.slice(i, j).trim());
      i = j;
    }
    if (i < s.length) {
      if (s[i] !== '.') throw optionError('table', `unexpected character in table ${JSON.stringify(v)}`);
      i++;
    }
  }
  if (parts.length > 2 || parts.some((p) => !p)) throw optionError('table', `table must be "table" or "schema.table", got ${JSON.stringify(v)}`);
  return parts.length === 2 ? { schema: parts[0], table: parts[1] } : { table: parts[0] };
}

/** An object-name stem from a table or a given name: letters, digits, '.', '_' and '-'. */
export function nameStem(given: string, table: { table: string } | null): string {
  const base = given || table?.table || 'export';
  const stem = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '');
  return stem || 'export';
}

/** A key prefix: no leading '/', no '..' segments. '' is allowed (bucket root). */
export function checkPrefix(prefix: string): string {
  if (prefix.startsWith('/')) throw optionError('prefix', `prefix must not start with "/": ${JSON.stringify(prefix)}`);
  if (prefix.split('/').includes('..')) throw optionError('prefix', `prefix must not contain "..": ${JSON.stringify(prefix)}`);
  if (/[\u0000-\u001f]/.test(prefix)) throw optionError('prefix', 'prefix must not contain control characters');
  return prefix;
}

/** msg.keys: an array of non-empty strings (or one string). */
export function parseKeys(v: unknown): string[] | null {
  if (v === undefined || v === null) return null;
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((k) => typeof k === 'string' && k.length > 0)) throw optionError('keys', 'msg.keys must be an array of object keys (strings)');
  return list as string[];
}
