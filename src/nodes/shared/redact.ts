// Secrets must never reach msg, status, logs or errors. Driver errors sometimes echo connection
// strings; every text that leaves a config node passes through redact().

/** Replaces every occurrence of each secret (and its URL-encoded form) with "***". */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 1) continue;
    for (const form of new Set([s, encodeURIComponent(s)])) {
      out = out.split(form).join('***');
    }
  }
  // user:password@ in any URL, whatever the password was
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+):[^@\s]*@/gi, '$1:***@');
}
