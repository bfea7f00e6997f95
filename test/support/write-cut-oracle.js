'use strict';
// An independent model of how the GPSS client cuts rows into Writes (src/gpss/write-request.ts
// nextWriteEnd): the exact protobuf size of each RowData inside a WriteRequest, groups at most
// `maxBytes` with 64 bytes budgeted for the session header, a single oversized row alone.
// Tests compare the client's cut and requests against it.

function varintSize(v) {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Bytes one row adds to a WriteRequest: Rows tag + length + RowData{Data tag + length + row}. */
function rowDataSize(rowBytes) {
  const inner = 1 + varintSize(rowBytes) + rowBytes;
  return 1 + varintSize(inner) + inner;
}

/** The groups of rows the client sends as separate WriteRequests under `maxBytes`. */
function splitIntoWrites(rows, maxBytes) {
  const budget = maxBytes - 64;
  const out = [];
  let current = [];
  let size = 0;
  for (const row of rows) {
    const s = rowDataSize(row.length);
    if (current.length > 0 && size + s > budget) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(row);
    size += s;
  }
  if (current.length > 0) out.push(current);
  return out;
}

module.exports = { splitIntoWrites, rowDataSize };
