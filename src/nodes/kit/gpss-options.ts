// The "target table and load options" part of the gpss-connect and gpss-write dialogs, turned
// into the client's OpenOptions. Pure: unit-tested without Node-RED. Invalid values throw a
// SettingError naming the option (src/shared/settings.ts).
import { DEFAULT_WRITE_BYTES, MAX_WRITE_BYTES, type BufferLimits, type OpenOptions } from '../../gpss';
import { boolSetting, choiceSetting, intSetting, parseColumnList, SettingError } from '../../shared/settings';

export interface TargetDef {
  schema?: string;
  table?: string;
  mode?: string;
  insertColumns?: string;
  matchColumns?: string;
  updateColumns?: string;
  condition?: string;
  truncate?: boolean | string;
  errorLimitCount?: string | number;
  errorLimitPercentage?: string | number;
  preSql?: string;
  postSql?: string;
  stagingSchema?: string;
}

/**
 * Builds OpenOptions from the dialog (and per-message overrides already resolved into `def`).
 * Checks what GPSS would otherwise reject later with a less helpful message.
 */
export function buildOpenOptions(def: TargetDef): OpenOptions {
  const table = (def.table ?? '').trim();
  if (!table) throw new SettingError('table', 'no table: set Table in the dialog or pass msg.table');
  const mode = (def.mode || 'insert').toLowerCase();
  if (mode !== 'insert' && mode !== 'merge' && mode !== 'update') {
    throw new SettingError('mode', `mode must be insert, merge or update, got ${JSON.stringify(def.mode)}`);
  }
  const matchColumns = parseColumnList(def.matchColumns);
  const updateColumns = parseColumnList(def.updateColumns);
  const insertColumns = parseColumnList(def.insertColumns);
  if (mode !== 'insert' && matchColumns.length === 0) {
    throw new SettingError('match columns', `mode ${mode} needs match columns (the key that finds existing rows)`);
  }
  if (mode !== 'insert' && updateColumns.length === 0) {
    throw new SettingError('update columns', `mode ${mode} needs update columns (what to change in matching rows)`);
  }
  const options: OpenOptions = {
    schema: (def.schema ?? '').trim() || 'public',
    table,
    mode,
    truncate: def.truncate === true || def.truncate === 'true',
    errorLimitCount: intSetting(def.errorLimitCount, 0, 0, Number.MAX_SAFE_INTEGER, 'error limit (rows)'),
    errorLimitPercentage: intSetting(def.errorLimitPercentage, 0, 0, 100, 'error limit (%)'),
  };
  if (insertColumns.length) options.insertColumns = insertColumns;
  if (mode !== 'insert') {
    options.matchColumns = matchColumns;
    options.updateColumns = updateColumns;
  }
  const condition = (def.condition ?? '').trim();
  if (condition && mode !== 'insert') options.condition = condition;
  const preSql = (def.preSql ?? '').trim();
  const postSql = (def.postSql ?? '').trim();
  const staging = (def.stagingSchema ?? '').trim();
  if (preSql) options.preSql = preSql;
  if (postSql) options.postSql = postSql;
  if (staging) options.stagingSchema = staging;
  return options;
}

/** The "write size" field (KB): the most bytes of rows in one Write. */
export function writeBytesSetting(writeKb: unknown): number {
  return Math.min(MAX_WRITE_BYTES, intSetting(writeKb, DEFAULT_WRITE_BYTES / 1024, 16, MAX_WRITE_BYTES / 1024, 'write size (KB)') * 1024);
}

/** The "buffer limit" fields: rows and MB held before a message is refused. */
export function bufferSetting(def: { bufferRows?: unknown; bufferMb?: unknown }, defaultRows: number): BufferLimits {
  return {
    maxRows: intSetting(def.bufferRows, defaultRows, 1, 1e9, 'buffer limit (rows)'),
    maxBytes: intSetting(def.bufferMb, 64, 1, 4096, 'buffer limit (MB)') * 1024 * 1024,
  };
}

/** gpss-write's dialog fields other than the target (TargetDef) and the server. */
export interface WriteSettingsDef {
  writeMode?: 'auto' | 'stream' | 'job';
  commitRows?: string | number;
  commitInterval?: string | number;
  bufferRows?: string | number;
  bufferMb?: string | number;
  writeKb?: string | number;
  maxRetries?: string | number;
  retryDelay?: string | number;
  closeTimeout?: string | number;
  ignoreUnknownKeys?: boolean | string;
  /** Job mode: commit the job once every part of the incoming msg.parts sequence was written. */
  commitOnSequenceEnd?: boolean | string;
  /** A second output that sends { tick: true } whenever the buffer has room for another message. */
  tickOutput?: boolean | string;
}

/** gpss-write's settings: the write mode, the stream targets' options, the close and the extras. */
/**
 * The dialog's default commit interval. 200 ms rather than a second: at 10,000 msgs/s a commit
 * then holds ~2,000 messages instead of ~10,000, and settling them (send, done, the Complete
 * node's clones) and the scavenge that copies them out of V8's young generation are five times
 * shorter. In the steady bench (10,000 msgs/s, Complete node, 2 shared cores) the event loop's
 * longest stall went from 14.6-26.1 ms (4 runs of 6 over 20 ms) to 12.0-19.7 ms over 6 runs
 * each; at low rates it is still one commit per 200 ms at most (5 transactions a second).
 */
export const DEFAULT_COMMIT_INTERVAL_MS = 200;

export function readWriteSettings(def: WriteSettingsDef) {
  const commitIntervalMs = intSetting(def.commitInterval, DEFAULT_COMMIT_INTERVAL_MS, 0, 3600000, 'commit interval (ms)');
  return {
    mode: choiceSetting(def.writeMode, ['auto', 'stream', 'job'] as const, 'auto', 'write into'),
    // (A buffer smaller than commitRows is allowed: commits then happen by interval.)
    writer: {
      commitRows: intSetting(def.commitRows, 10000, 1, 1e8, 'commit every (rows)'),
      commitIntervalMs,
      buffer: bufferSetting(def, 100000),
      maxRetries: intSetting(def.maxRetries, 5, 0, 100, 'retries'),
      backoff: { baseMs: intSetting(def.retryDelay, 250, 1, 60000, 'first retry delay (ms)'), maxMs: 10000, jitter: 0.3 },
    },
    writeBytes: writeBytesSetting(def.writeKb),
    encoder: { ignoreUnknownKeys: boolSetting(def.ignoreUnknownKeys, false, 'ignore keys that are not columns') },
    closeTimeoutMs: intSetting(def.closeTimeout, 10, 1, 14, 'close timeout (s)') * 1000,
    commitOnSequenceEnd: boolSetting(def.commitOnSequenceEnd, false, 'commit at the end of a sequence'),
    tickOutput: boolSetting(def.tickOutput, false, 'tick output'),
  };
}

export type WriteSettings = ReturnType<typeof readWriteSettings>;
