// The config dialogs' "Test connection" buttons: an admin endpoint that checks the values typed
// in the dialog (saved or not), the way Node-RED's own dialogs post unsaved settings. A password
// field left untouched arrives as '__PWRD__' (or empty): the credential stored for the deployed
// node is used then. The answer is always 200 with `ok`; a failure carries the error text
// (secrets removed), its `code` and HTTP `status` when the driver gave them.
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { redactSecrets } from '../../shared/redact';

/** What the editor sends for a password credential the user did not change. */
export const UNCHANGED_SECRET = '__PWRD__';

export type Body = Record<string, unknown>;

export function bodyOf(req: Request): Body {
  const b = req.body as unknown;
  return b && typeof b === 'object' ? (b as Body) : {};
}

/** The credential `key` as typed in the dialog, else the one stored for node `id`. */
export function typedOrStored(RED: NodeAPI, id: unknown, typed: unknown, key: string): string {
  if (typeof typed === 'string' && typed !== '' && typed !== UNCHANGED_SECRET) return typed;
  if (typeof id !== 'string' || !id) return '';
  const stored = RED.nodes.getCredentials(id) as Record<string, unknown> | undefined;
  const v = stored?.[key];
  return typeof v === 'string' ? v : '';
}

export interface TestOutcome {
  /** Secrets to strip from an error text. */
  secrets: string[];
  run(): Promise<Record<string, unknown>>;
}

/** Registers POST `path` (needs `<type>.write`, as Node-RED's own config endpoints do). */
export function registerTestEndpoint(RED: NodeAPI, path: string, type: string, prepare: (body: Body) => TestOutcome): void {
  RED.httpAdmin.post(path, RED.auth.needsPermission(`${type}.write`), (req: Request, res: Response) => {
    let secrets: string[] = [];
    const fail = (err: unknown): void => {
      const e = err as { message?: string; code?: unknown; status?: unknown };
      const message = redactSecrets(String(e?.message ?? err), secrets);
      res.json({
        ok: false,
        error: message,
        ...(typeof e?.code === 'string' || typeof e?.code === 'number' ? { code: e.code } : {}),
        ...(typeof e?.status === 'number' ? { status: e.status } : {}),
      });
    };
    try {
      const t = prepare(bodyOf(req));
      secrets = t.secrets.filter((s) => s.length > 0);
      const t0 = Date.now();
      t.run().then((out) => res.json({ ok: true, ms: Date.now() - t0, ...out }), fail);
    } catch (err) {
      fail(err);
    }
  });
}
