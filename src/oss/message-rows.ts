// Rows in messages (DESIGN §3 "Rows in messages") for an export of rows arriving in messages:
// a payload is one row object, an array of row objects, or an array of arrays (values in
// column order). Objects are laid out in the column order; missing keys become NULL; a key
// that is not a column is an error naming it, so a typo never silently drops data.
import type { CodecValue } from './codec';
import { isRowObject, needsSlices, PayloadError, SLICE_ROWS } from '../shared/payload-shape';
import { SliceClock } from '../shared/slices';

export { needsSlices } from '../shared/payload-shape';

/** The one payload error (src/shared/payload-shape.ts), with the code oss-export has always reported. */
function shapeError(message: string, column?: string): PayloadError {
  return new PayloadError(message, column, 'OSS_ROW_SHAPE');
}

function cell(v: unknown): CodecValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return v;
  if (v instanceof Date || Buffer.isBuffer(v) || v instanceof Uint8Array) return v;
  // Objects and arrays go to json/jsonb/text columns as JSON text.
  return JSON.stringify(v);
}

/**
 * Converts a payload to row arrays. `columns` is the layout (null = not known yet: taken from
 * the first object's keys, or positional for arrays). Returns the rows and the layout used.
 */
export function payloadToRows(
  payload: unknown,
  columns: readonly string[] | null,
  /** Number of rows before this payload (a large payload converted in slices): for error texts. */
  firstRow = 0,
): { rows: CodecValue[][]; columns: readonly string[] | null } {
  let items: unknown[];
  if (Array.isArray(payload)) {
    // An array of scalars is one row given positionally; an array of rows is many rows.
    items = payload.length > 0 && payload.every((x) => isRowObject(x) || Array.isArray(x)) ? payload : [payload];
  } else if (isRowObject(payload)) {
    items = [payload];
  } else {
    throw shapeError('msg.payload must be a row object, an array of row objects or an array of arrays');
  }
  let layout = columns;
  // Column positions, built once per layout (not per row: this is the hot path).
  let index: Map<string, number> | null = layout ? indexOf(layout) : null;
  const rows: CodecValue[][] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (Array.isArray(item)) {
      if (layout && item.length !== layout.length) {
        throw shapeError(`row ${firstRow + i + 1} has ${item.length} values but there are ${layout.length} columns (${layout.join(', ')})`);
      }
      rows.push(item.map(cell));
      continue;
    }
    if (!isRowObject(item)) throw shapeError(`row ${firstRow + i + 1} is neither an object nor an array`);
    if (!layout || !index) {
      layout = Object.keys(item);
      index = indexOf(layout);
    }
    const out: CodecValue[] = new Array(layout.length).fill(null);
    for (const key in item) {
      if (!Object.prototype.hasOwnProperty.call(item, key)) continue;
      const k = index.get(key);
      if (k === undefined) {
        throw shapeError(`row ${firstRow + i + 1} has "${key}", which is not one of the columns (${layout.join(', ')})`, key);
      }
      out[k] = cell(item[key]);
    }
    rows.push(out);
  }
  return { rows, columns: layout };
}

/**
 * payloadToRows() for a large array, yielding to the event loop every millisecond: same rows, same
 * layout, same errors (row numbers count from the start of the payload).
 */
export async function payloadToRowsInSlices(
  payload: unknown,
  columns: readonly string[] | null,
): Promise<{ rows: CodecValue[][]; columns: readonly string[] | null }> {
  // An array of scalars is one row (payloadToRows decides that on the whole array).
  if (!needsSlices(payload) || !(payload as unknown[]).every((x) => isRowObject(x) || Array.isArray(x))) {
    return payloadToRows(payload, columns);
  }
  const list = payload as unknown[];
  const clock = new SliceClock();
  let layout = columns;
  const rows: CodecValue[][] = [];
  for (let from = 0; from < list.length; from += SLICE_ROWS) {
    const part = payloadToRows(list.slice(from, from + SLICE_ROWS), layout, from);
    layout = part.columns;
    for (const r of part.rows) rows.push(r);
    await clock.pace();
  }
  return { rows, columns: layout };
}

/** Encodes rows to text with `encodeRow`, yielding every millisecond when there are many. */
export async function encodeRowsInSlices(rows: readonly CodecValue[][], encodeRow: (r: readonly CodecValue[]) => string): Promise<string> {
  const clock = new SliceClock();
  let text = '';
  for (let i = 0; i < rows.length; i++) {
    text += encodeRow(rows[i]);
    if (i % SLICE_ROWS === SLICE_ROWS - 1) await clock.pace();
  }
  return text;
}

const indexCache = new WeakMap<readonly string[], Map<string, number>>();
function indexOf(layout: readonly string[]): Map<string, number> {
  let m = indexCache.get(layout);
  if (!m) {
    m = new Map(layout.map((c, k) => [c, k]));
    indexCache.set(layout, m);
  }
  return m;
}
