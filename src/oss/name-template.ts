/**
 * Time parts in export object names: `{{yyyy}}/{{MM}}/{{dd}}/{{HH}}` in a key prefix (or an
 * object name stem) becomes `2026/12/02/07` for the moment the object is opened, so a long-running
 * message export files its objects by hour or day. UTC, like the timestamp in every object name
 * (naming.ts). Parts: yyyy MM dd HH mm ss (the case matters: MM is the month, mm the minute).
 */
import { ObjectNameError } from './naming';

const PARTS: Record<string, (d: Date) => string> = {
  yyyy: (d) => String(d.getUTCFullYear()).padStart(4, '0'),
  MM: (d) => String(d.getUTCMonth() + 1).padStart(2, '0'),
  dd: (d) => String(d.getUTCDate()).padStart(2, '0'),
  HH: (d) => String(d.getUTCHours()).padStart(2, '0'),
  mm: (d) => String(d.getUTCMinutes()).padStart(2, '0'),
  ss: (d) => String(d.getUTCSeconds()).padStart(2, '0'),
};

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Throws (naming the field) on a placeholder that is not a time part, e.g. `{{YYYY}}`. */
export function checkNameTemplate(template: string, field: string): void {
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!Object.prototype.hasOwnProperty.call(PARTS, m[1])) {
      throw new ObjectNameError(field, `unknown time part {{${m[1]}}} in ${field} (use yyyy, MM, dd, HH, mm, ss)`);
    }
  }
}

/** The template with its time parts for `at` (UTC); text without placeholders is unchanged. */
export function expandNameTemplate(template: string, at: Date, field = 'name'): string {
  if (!template.includes('{{')) return template;
  if (Number.isNaN(at.getTime())) throw new ObjectNameError('at', 'timestamp is not a valid date');
  checkNameTemplate(template, field);
  return template.replace(PLACEHOLDER, (_all, part: string) => PARTS[part](at));
}
