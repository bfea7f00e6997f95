// Raw csv/delimited lines go into `COPY … FROM STDIN` as they are, so a line must not contain
// anything that makes PostgreSQL's line reader stop early or join it with the next line. The
// rules follow PostgreSQL 15's CopyReadLineText (src/backend/commands/copyfromparse.c):
//
// * text format (our `delimited`): a backslash escapes the next byte, and `\.` anywhere that
//   is not itself escaped is the end-of-copy marker: followed by a line break it silently
//   ends the data ("1,a\." loads "1,a" and drops every later row), otherwise it is an error
//   of the whole COPY. A lone backslash at the end escapes the line break we append and joins
//   the next row to this one.
// * csv: `\.` is the marker only alone on a line that starts outside quotes. A quote left
//   open at the end of the row swallows the following rows into one field.
//
// Each case rejects the row as a format error (counted against the error limit), never a
// silent truncation.

export interface RawLineSyntax {
  csv: boolean;
  quote: number; // csv QUOTE byte (default '"')
  escape: number; // csv ESCAPE byte; -1 when it is the quote (the default)
}

const BACKSLASH = 0x5c;
const DOT = 0x2e;
const LF = 0x0a;

export function rawLineSyntax(format: { kind: string; quote?: string; escape?: string }): RawLineSyntax {
  const quote = format.kind === 'csv' && format.quote ? format.quote.charCodeAt(0) : 0x22;
  const escape = format.kind === 'csv' && format.escape ? format.escape.charCodeAt(0) : quote;
  // Like PostgreSQL: an escape equal to the quote is no escape (a doubled quote toggles twice).
  return { csv: format.kind === 'csv', quote, escape: escape === quote ? -1 : escape };
}

/** Why PostgreSQL would not read `line` (no trailing line break) as exactly one row, or null. */
export function rawLineProblem(line: Uint8Array, syntax: RawLineSyntax): string | null {
  return syntax.csv ? csvProblem(line, syntax) : textProblem(line);
}

function textProblem(line: Uint8Array): string | null {
  for (let i = line.indexOf(BACKSLASH); i >= 0; i = line.indexOf(BACKSLASH, i + 2)) {
    if (i + 1 === line.length) return 'line ends with a lone backslash, which would escape the line break and join the next row to this one (write \\\\ for a backslash)';
    if (line[i + 1] === DOT) return 'line contains \\., PostgreSQL\'s end-of-copy marker (write \\\\. for a backslash followed by a dot)';
  }
  return null;
}

function csvProblem(line: Uint8Array, { quote, escape }: RawLineSyntax): string | null {
  const marker = 'line is \\. alone, PostgreSQL\'s end-of-copy marker (quote it as "\\." to load it as a value)';
  if (isMarkerAt(line, 0)) return marker;
  if (line.indexOf(quote) < 0) {
    // No quotes: every line break starts a new physical line of the COPY.
    for (let i = line.indexOf(LF); i >= 0; i = line.indexOf(LF, i + 1)) if (isMarkerAt(line, i + 1)) return marker;
    return null;
  }
  let inQuote = false;
  let lastWasEscape = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    // The same three steps as PostgreSQL, in its order (quote and escape may be one byte).
    if (inQuote && c === escape) lastWasEscape = !lastWasEscape;
    if (c === quote && !lastWasEscape) inQuote = !inQuote;
    if (c !== escape) lastWasEscape = false;
    if (c === LF && !inQuote && isMarkerAt(line, i + 1)) return marker;
  }
  if (inQuote) return 'line ends inside a quoted field (unterminated quote), which would join the following rows into this one';
  return null;
}

/** `\.` from `at` to the end of the line, or up to a line break. */
function isMarkerAt(line: Uint8Array, at: number): boolean {
  return line[at] === BACKSLASH && line[at + 1] === DOT && (at + 2 === line.length || line[at + 2] === LF);
}
