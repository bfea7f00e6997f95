// A lexical scan of SQL text, just deep enough to find what the query node must know before it
// sends a statement: where the parameters ($1, $name) are, how many statements there are and
// which keyword starts each. Text that PostgreSQL reads as data or as a comment is skipped, so
// "$x" inside '…', E'…', "…", $tag$…$tag$, -- … or /* … */ is never taken for a parameter and
// a ";" there never ends a statement. Unterminated quotes or comments simply run to the end:
// the server reports those. Pure; no I/O.

/** A parameter reference: `$3` (positional) or `$device` (named). */
export interface SqlParam {
  kind: 'positional' | 'named';
  /** Offsets of the reference in the text ("$" included; end exclusive). */
  start: number;
  end: number;
  /** Positional: the number (1-based). */
  index?: number;
  /** Named: the name without "$". */
  name?: string;
}

/** One statement of the text (separated by ";" outside parentheses, quotes and comments). */
export interface SqlStatement {
  start: number;
  end: number;
  /** Its first keyword, upper case ("SELECT", "WITH", "CREATE"…); "" when it starts otherwise. */
  keyword: string;
}

export interface SqlScan {
  params: SqlParam[];
  /** The statements that hold more than blanks and comments. */
  statements: SqlStatement[];
}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/** Scans `sql`; see the file comment for what is skipped. */
export function scanSql(sql: string): SqlScan {
  const params: SqlParam[] = [];
  const statements: SqlStatement[] = [];
  let stmtStart = 0;
  // Offset of the statement's first significant character (-1: none yet) and its keyword.
  let firstAt = -1;
  let keyword = '';
  let depth = 0;
  let i = 0;
  const n = sql.length;

  const significant = (at: number, word: string): void => {
    if (firstAt < 0) {
      firstAt = at;
      keyword = word.toUpperCase();
    }
  };
  const endStatement = (end: number): void => {
    if (firstAt >= 0) statements.push({ start: stmtStart, end, keyword });
    stmtStart = end + 1;
    firstAt = -1;
    keyword = '';
  };

  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const nl = sql.indexOf('\n', i + 2);
      i = nl < 0 ? n : nl + 1;
    } else if (c === '/' && next === '*') {
      i = skipBlockComment(sql, i);
    } else if (c === "'") {
      // E'…' (and e'…') reads backslash escapes; any other string doubles its quotes only.
      const escapes = i > 0 && (sql[i - 1] === 'E' || sql[i - 1] === 'e') && !(i > 1 && IDENT_PART.test(sql[i - 2]));
      significant(i, '');
      i = skipQuoted(sql, i, "'", escapes);
    } else if (c === '"') {
      significant(i, '');
      i = skipQuoted(sql, i, '"', false);
    } else if (c === '$' && !(i > 0 && IDENT_PART.test(sql[i - 1]))) {
      significant(i, '');
      i = scanDollar(sql, i, params);
    } else if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < n && IDENT_PART.test(sql[j])) j++;
      // A word ends before a quote it prefixes (E'…', B'…', X'…', U&'…'): leave the quote to the loop.
      significant(i, sql.slice(i, j));
      i = j;
    } else if (c === ';' && depth === 0) {
      endStatement(i);
      i++;
    } else {
      if (c === '(') depth++;
      else if (c === ')' && depth > 0) depth--;
      // "(SELECT …)" starts with its SELECT: a parenthesis is not the keyword.
      if (!/\s/.test(c) && c !== '(') significant(i, '');
      i++;
    }
  }
  endStatement(n);
  return { params, statements };
}

/** Offset just past the block comment opening at `i` (PostgreSQL nests them). */
function skipBlockComment(sql: string, i: number): number {
  let level = 0;
  let j = i;
  while (j < sql.length) {
    if (sql[j] === '/' && sql[j + 1] === '*') {
      level++;
      j += 2;
    } else if (sql[j] === '*' && sql[j + 1] === '/') {
      level--;
      j += 2;
      if (level === 0) return j;
    } else j++;
  }
  return sql.length;
}

/** Offset just past the quoted text opening at `i` (a doubled quote stays inside). */
function skipQuoted(sql: string, i: number, quote: string, backslashEscapes: boolean): number {
  let j = i + 1;
  while (j < sql.length) {
    const c = sql[j];
    if (backslashEscapes && c === '\\') j += 2;
    else if (c === quote) {
      if (sql[j + 1] === quote) j += 2;
      else return j + 1;
    } else j++;
  }
  return sql.length;
}

/** At a "$" that does not continue an identifier: a parameter or a dollar-quoted string. */
function scanDollar(sql: string, i: number, params: SqlParam[]): number {
  const rest = sql.slice(i);
  const digits = /^\$(\d+)/.exec(rest);
  if (digits) {
    const end = i + digits[0].length;
    params.push({ kind: 'positional', start: i, end, index: Number(digits[1]) });
    return end;
  }
  const tag = DOLLAR_TAG.exec(rest);
  if (tag) {
    // $$…$$ or $tag$…$tag$: everything up to the same tag is the string's body.
    const close = sql.indexOf(tag[0], i + tag[0].length);
    return close < 0 ? sql.length : close + tag[0].length;
  }
  const name = NAME.exec(rest.slice(1));
  if (name) {
    const end = i + 1 + name[0].length;
    params.push({ kind: 'named', start: i, end, name: name[0] });
    return end;
  }
  return i + 1;
}
