// The settings of the oss-export and oss-import dialogs (strings from the editor or flow JSON),
// read and checked once at deploy by the one settings policy (src/shared/settings.ts): empty →
// default, anything else valid as given or a SettingError naming the option. Pure.
import { boolSetting, choiceSetting, intSetting, parseColumnList, textSetting } from '../shared/settings';
import { resolveFormat } from './format';
import { checkNameTemplate } from './name-template';
import { checkPrefix, formatOptionsFrom, parseTransferMode } from './transfer-options';

export type ExportSettings = ReturnType<typeof exportSettings>;
export type ImportSettings = ReturnType<typeof importSettings>;

const columnsOrNull = (v: unknown): string[] | null => {
  const columns = parseColumnList(v);
  return columns.length ? columns : null;
};

/** The oss-export dialog. */
export function exportSettings(def: Record<string, unknown>) {
  const source = choiceSetting(def.source, ['table', 'query', 'messages'] as const, 'table', 'source');
  const format = formatOptionsFrom(def);
  resolveFormat(format); // validate now: a bad delimiter is a deploy-time error
  if (source === 'messages') {
    // Time parts ({{yyyy}}…) are filled in per object in messages mode: a typo is a deploy-time error.
    checkNameTemplate(textSetting(def.prefix), 'prefix');
    checkNameTemplate(textSetting(def.objectName), 'object name');
  }
  return {
    source, table: textSetting(def.table), query: textSetting(def.query), columns: columnsOrNull(def.columns),
    prefix: checkPrefix(textSetting(def.prefix)), objectName: textSetting(def.objectName), format,
    level: intSetting(def.compression, 1, 0, 9, 'gzip level'), gzipWorkers: intSetting(def.gzipWorkers, 2, 1, 16, 'gzip workers'),
    objectSizeMB: intSetting(def.objectSizeMB, 256, 1, 1024 * 1024, 'object size (MB)'), partSizeMB: intSetting(def.partSizeMB, 8, 1, 5120, 'part size (MB)'),
    parallelParts: intSetting(def.parallelParts, 4, 1, 64, 'parallel parts'), rollSeconds: intSetting(def.rollSeconds, 60, 0, 7 * 86400, 'roll after (s)'),
    maxBufferMB: intSetting(def.maxBufferMB, 64, 1, 4096, 'max buffer (MB)'), mode: parseTransferMode(def.mode),
    /** Messages source: close the object once every part of a msg.parts sequence is in it. */
    rollOnSequenceEnd: boolSetting(def.rollOnSequenceEnd, false, 'close the object at the end of a sequence'),
  };
}

/** The oss-import dialog. */
export function importSettings(def: Record<string, unknown>) {
  const target = choiceSetting(def.target, ['table', 'messages'] as const, 'table', 'target');
  const format = formatOptionsFrom(def);
  resolveFormat(format);
  const rejectUnit = textSetting(def.rejectUnit) === 'PERCENT' ? 'PERCENT' : 'ROWS';
  return {
    target, table: textSetting(def.table), columns: columnsOrNull(def.columns), prefix: checkPrefix(textSetting(def.prefix)),
    /** Direct children of the folder `prefix` only (oss_ext `dir=`); default recursive. */
    folderOnly: boolSetting(def.folderOnly, false, 'folder only'), format, fillMissing: boolSetting(def.fillMissing, false, 'fill missing fields'),
    parallel: intSetting(def.parallel, 2, 1, 32, 'parallel downloads'), truncate: boolSetting(def.truncate, false, 'truncate'),
    rejectLimit: intSetting(def.rejectLimit, 0, 0, rejectUnit === 'PERCENT' ? 100 : 2 ** 31 - 1, 'reject limit'), rejectUnit,
    batchSize: intSetting(def.batchSize, 1000, 1, 1000000, 'rows per message'), rowShape: textSetting(def.rowShape) === 'object' ? 'object' : 'array',
    /** 'yield': one event-loop turn per batch; 'tick': wait for msg.tick beyond `inflight` batches. */
    pacing: textSetting(def.pacing) === 'tick' ? 'tick' : 'yield', inflight: intSetting(def.inflight, 2, 1, 1000, 'batches in flight'), mode: parseTransferMode(def.mode),
  } as const;
}
