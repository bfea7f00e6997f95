// The one redaction: every text that may reach a message, a status, a log or an error passes
// through it (the node kit, src/oss, src/gpss through the redact hook of its service). Secrets
// must never leave Node-RED's credentials store, whatever a driver echoes back (a connection
// string, a statement with an oss:// LOCATION).

/** What a removed secret becomes. */
const REDACTED = 'XXX';

/**
 * Replaces, with XXX:
 * - every occurrence of each given secret, and of its URL-encoded form (a password inside a
 *   postgres:// URL is URL-encoded); every non-empty secret, however short: a mangled message
 *   is better than a leaked password;
 * - the values of `key=` and of an `id=` right before `key=` (the AccessKey secret and ID in an
 *   oss:// LOCATION, whose texts a database error may quote);
 * - the password of `scheme://user:password@` in any URL, whatever it was.
 */
export function redactSecrets(text: string, secrets: readonly (string | null | undefined)[] = []): string {
  let out = String(text);
  for (const s of secrets) {
    if (!s) continue;
    for (const form of new Set([s, encodeURIComponent(s)])) out = out.split(form).join(REDACTED);
  }
  return out
    .replace(/\bid=[^\s'"]+(\s+key=)/g, `id=${REDACTED}$1`)
    .replace(/\bkey=[^\s'")]+/g, `key=${REDACTED}`)
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+):[^@\s]*@/gi, `$1:${REDACTED}@`);
}
