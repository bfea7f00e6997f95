// OpenRequest → the load's specification (spec §3.3, §3.5): the mode from the `Option`
// oneof, its columns and error limits, and the row format. Pure; throws GpssStatusError.
import type { LoadMode, OpenSpec } from './load';
import type { CopyFormat } from './sql';
import { GpssStatusError, GrpcStatus, invalid } from './status';

interface SessionRef {
  ID?: string;
}

const UNSUPPORTED_FORMATS = ['avro', 'binary', 'json', 'custom'] as const;

export interface OpenRequestMessage {
  Session?: SessionRef;
  SchemaName: string;
  TableName: string;
  PreSQL: string;
  PostSQL: string;
  StagingSchema: string;
  csv?: { delimiter: string; quote: string; null: string; escape: string; header: boolean } | null;
  delimited?: { delimiter: string } | null;
  proto?: string;
  Option?: 'InsertOption' | 'UpdateOption' | 'MergeOption';
  InsertOption?: { InsertColumns: string[]; TruncateTable: boolean; ErrorLimitCount: string; ErrorLimitPercentage: number };
  UpdateOption?: { MatchColumns: string[]; UpdateColumns: string[]; Condition: string; ErrorLimitCount: string; ErrorLimitPercentage: number };
  MergeOption?: { InsertColumns: string[]; MatchColumns: string[]; UpdateColumns: string[]; Condition: string; ErrorLimitCount: string; ErrorLimitPercentage: number };
  [format: string]: unknown;
}

/** OpenRequest → OpenSpec (pure; throws GpssStatusError). */
export function openSpecFromRequest(req: OpenRequestMessage): OpenSpec {
  for (const f of UNSUPPORTED_FORMATS) {
    if (req[f] !== null && req[f] !== undefined) throw new GpssStatusError(GrpcStatus.UNIMPLEMENTED, `OpenRequest format "${f}" is not supported by gpss-pg; send Row messages (no format) or csv/delimited lines`);
  }
  if (req.proto) throw new GpssStatusError(GrpcStatus.UNIMPLEMENTED, 'OpenRequest format "proto" is not supported by gpss-pg; send Row messages (no format) or csv/delimited lines');
  let format: CopyFormat = { kind: 'text' };
  let header = false;
  if (req.csv && req.delimited) throw invalid('OpenRequest sets both csv and delimited');
  if (req.csv) {
    format = { kind: 'csv', delimiter: req.csv.delimiter || undefined, quote: req.csv.quote || undefined, escape: req.csv.escape || undefined, null: req.csv.null };
    header = !!req.csv.header;
  } else if (req.delimited) {
    format = { kind: 'delimited', delimiter: req.delimited.delimiter || undefined };
  }
  let mode: LoadMode = 'insert';
  let insertColumns: string[] = [];
  let matchColumns: string[] = [];
  let updateColumns: string[] = [];
  let condition = '';
  let truncate = false;
  let count = '0';
  let percentage = 0;
  if (req.Option === 'UpdateOption' && req.UpdateOption) {
    const o = req.UpdateOption;
    mode = 'update';
    ({ MatchColumns: matchColumns, UpdateColumns: updateColumns, Condition: condition, ErrorLimitCount: count, ErrorLimitPercentage: percentage } = o);
  } else if (req.Option === 'MergeOption' && req.MergeOption) {
    const o = req.MergeOption;
    mode = 'merge';
    ({ InsertColumns: insertColumns, MatchColumns: matchColumns, UpdateColumns: updateColumns, Condition: condition, ErrorLimitCount: count, ErrorLimitPercentage: percentage } = o);
  } else if (req.InsertOption) {
    const o = req.InsertOption;
    ({ InsertColumns: insertColumns, TruncateTable: truncate, ErrorLimitCount: count, ErrorLimitPercentage: percentage } = o);
  }
  return {
    schema: req.SchemaName || 'public',
    table: req.TableName,
    preSql: req.PreSQL ?? '',
    postSql: req.PostSQL ?? '',
    stagingSchema: req.StagingSchema ?? '',
    mode,
    insertColumns: insertColumns ?? [],
    matchColumns: matchColumns ?? [],
    updateColumns: updateColumns ?? [],
    condition: condition ?? '',
    truncate: !!truncate,
    limits: { count: Number(count ?? 0), percentage: Number(percentage ?? 0) },
    format,
    header,
  };
}

