// The config dialogs' "Test connection" buttons: an admin endpoint that checks the values typed
// in the dialog (saved or not), the way Node-RED's own dialogs post unsaved settings. A password
// field left untouched arrives as '__PWRD__' (or empty): the credential stored for the deployed
// node is used then. The answer is always 200 with `ok`; a failure carries the error text
// (secrets removed), its `code` and HTTP `status` when the driver gave them.
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { redactSecrets } from '../../shared/redact';

/** What the editor sends for a password credential the user did not change. */
const UNCHANGED_SECRET = '__PWRD__';

export type Body = Record<string, unknown>;

function bodyOf(req: Request): Body {
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

/**
 * Registers GET `path` (with `:id`; needs `<type>.read`) for the editor's pickers: it answers
 * from the deployed config node `id` of `type` — 404 with `notDeployed` when there is none (or
 * `ready` says it cannot answer), 400 when `answer` returns a text (a bad request), else the
 * JSON of what its promise gives, or 502 with the failure as the node redacts it.
 */
export function registerConfigLookup<N extends { type: string; redact(text: string): string }>(
  RED: NodeAPI,
  path: string,
  type: string,
  notDeployed: string,
  ready: (n: N) => boolean,
  answer: (n: N, req: Request) => Promise<unknown> | string,
): void {
  RED.httpAdmin.get(path, RED.auth.needsPermission(`${type}.read`), (req: Request, res: Response) => {
    const n = RED.nodes.getNode(String(req.params.id)) as unknown as N | null;
    if (!n || n.type !== type || !ready(n)) {
      res.status(404).json({ error: notDeployed });
      return;
    }
    let p: Promise<unknown> | string;
    try {
      p = answer(n, req);
    } catch (err) {
      p = Promise.reject(err);
    }
    if (typeof p === 'string') res.status(400).json({ error: p });
    else p.then((v) => res.json(v), (err: unknown) => res.status(502).json({ error: n.redact(err instanceof Error ? err.message : String(err)) }));
  });
}
