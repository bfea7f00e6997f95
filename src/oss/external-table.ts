/**
 * DDL builder for gpossext `oss://` external tables (spec/oss.md §1.2, §1.3, §1.7). Pure
 * functions: each returns `{ sql, redacted }` — `sql` to execute, `redacted` (id=XXX key=XXX)
 * for logs, status and errors — and throws `ExternalTableError` naming the invalid field.
 */
export interface OssLocation {
  /** Host only, e.g. `oss-cn-hangzhou-internal.aliyuncs.com` (an http(s):// scheme is stripped). */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  accessKeySecret: string;
  mode: 'prefix' | 'dir' | 'filepath';
  path: string;
  compression: 'none' | 'gzip';
  /** readable only */
  async?: boolean;
  /** writable + gzip: 1–9 */
  compressionLevel?: number;
  /** writable + gzip: 1–8 */
  parallelWorkers?: number;
  /** writable: MB per request, 1–128, ≤ fileMaxMB */
  flushBlockMB?: number;
  /** writable: MB per object, 8–4000 */
  fileMaxMB?: number;
  connectTimeoutS?: number;
  dnsCacheTimeoutS?: number;
  speedLimitBps?: number;
  speedTimeS?: number;
}

export interface ExternalTableDef {
  direction: 'readable' | 'writable';
  /** Generated name `^[a-z_][a-z0-9_]{0,62}$` (see `externalTableName`). */
  name: string;
  like: { schema: string; table: string };
  format: 'csv' | 'text';
  delimiter?: string;
  nullString?: string;
  quote?: string;
  escape?: string;
  /** readable only */
  reject?: { limit: number; unit: 'ROWS' | 'PERCENT'; logErrors: boolean };
  /** writable only */
  distributedBy?: string[] | 'RANDOMLY';
}

export interface BuiltSql {
  sql: string;
  redacted: string;
}

export class ExternalTableError extends Error {
  readonly code = 'OSS_DDL';
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'ExternalTableError';
  }
}

export declare function buildCreateExternalTable(def: ExternalTableDef, loc: OssLocation): BuiltSql;
/** `DROP EXTERNAL TABLE IF EXISTS "name"` */
export declare function buildDropExternalTable(name: string): string;
/** `<stem>_<6 hex>`: readable (it appears in export object names) and unique. */
export declare function externalTableName(stem: string): string;
/** Replaces `id=…`/`key=…` values and any occurrence of the given secrets with XXX. */
export declare function redactSecrets(text: string, secrets?: readonly string[]): string;
