// Reading a node's dialog values (strings from the editor, or anything a ${ENV} substitution
// put there) into typed settings. One policy for every node:
// - a value left empty (undefined, null, '') takes the setting's default;
// - any other value must be valid as given: an invalid one throws a SettingError naming the
//   option, the value and what is allowed. Nothing is clamped or guessed silently: a number out
//   of range or with a fraction is an error, not the nearest allowed value.
// A node turns such an error into its "cannot start" state (failedSetup in the node kit's
// errors.ts): red status, the error logged once, and every message failed with it. Pure; here
// in src/shared because src/oss and src/query check their options with the same error.

/**
 * The one error for an option, setting or input that is not valid as given: `option` names it
 * (as the dialog labels it, or the msg property), the message says the value and what is
 * allowed. `code` is what msg.error.code reports: BAD_SETTING for a node's dialog settings; the
 * libraries keep the codes their nodes have always reported (OSS_NODE_OPTION,
 * OSS_ACCOUNT_CONFIG, QUERY_INPUT).
 */
export class SettingError extends Error {
  constructor(
    /** The option as the dialog labels it (e.g. "commit interval (ms)"), or the msg property. */
    readonly option: string,
    message: string,
    readonly code: string = 'BAD_SETTING',
  ) {
    super(message);
    this.name = 'SettingError';
  }

  /** The option, under the name the account and query errors have always used. */
  get field(): string {
    return this.option;
  }
}

const empty = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/** A whole number from `min` to `max`; empty → `dflt`. */
export function intSetting(v: unknown, dflt: number, min: number, max: number, option: string): number {
  if (empty(v)) return dflt;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : NaN;
  if (!Number.isInteger(n)) throw new SettingError(option, `${option} must be a whole number, got ${JSON.stringify(v)}`);
  if (n < min || n > max) throw new SettingError(option, `${option} must be from ${min} to ${max}, got ${n}`);
  return n;
}

/** A checkbox: true/'true' or false/'false'; empty → `dflt`. */
export function boolSetting(v: unknown, dflt: boolean, option = 'option'): boolean {
  if (empty(v)) return dflt;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new SettingError(option, `${option} must be true or false, got ${JSON.stringify(v)}`);
}

/** A text field, trimmed ('' when empty; numbers as their text). */
export function textSetting(v: unknown): string {
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return '';
}

/** One of `choices`; empty → `dflt`. */
export function choiceSetting<T extends string>(v: unknown, choices: readonly T[], dflt: T, option: string): T {
  const s = textSetting(v);
  if (s === '') return dflt;
  if ((choices as readonly string[]).includes(s)) return s as T;
  throw new SettingError(option, `${option} must be ${choices.slice(0, -1).join(', ')}${choices.length > 1 ? ' or ' : ''}${choices[choices.length - 1]}, got ${JSON.stringify(v)}`);
}

/** "a, b ,c" or ["a","b"] → ["a","b","c"]. */
export function parseColumnList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map((x) => String(x).trim()).filter(Boolean);
  if (typeof v !== 'string') return [];
  return v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}
