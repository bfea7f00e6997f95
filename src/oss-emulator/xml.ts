// Minimal XML for the OSS wire format: escaping for responses and a small, strict reader
// for the two request bodies OSS accepts here (<Delete> and <CompleteMultipartUpload>).
// No dependency: the documents are flat and tiny, and anything unexpected is MalformedXML.

export const OSS_XMLNS = 'http://doc.oss-cn-hangzhou.aliyuncs.com';

/** Escapes element text. Quotes stay literal, as in OSS's own documents (`<ETag>"…"</ETag>`). */
export function escapeXml(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

export function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, ent: string) => {
    switch (ent) {
      case 'amp': return '&';
      case 'lt': return '<';
      case 'gt': return '>';
      case 'quot': return '"';
      case 'apos': return "'";
      default: {
        const code = ent[1] === 'x' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
        return String.fromCodePoint(code);
      }
    }
  });
}

/** A tree node: element name, children, and text (CDATA resolved). */
export interface XmlElement { name: string; children: XmlElement[]; text: string }

export class XmlSyntaxError extends Error {}

/**
 * Parses a small XML document (no DTD, no namespaces resolution) into elements.
 * Throws XmlSyntaxError on anything it does not understand.
 */
export function parseXml(doc: string): XmlElement {
  let i = 0;
  const n = doc.length;
  const skipWs = () => { while (i < n && /\s/.test(doc[i])) i++; };
  const fail = (what: string): never => { throw new XmlSyntaxError(`${what} at offset ${i}`); };

  skipWs();
  if (doc.startsWith('<?xml', i)) {
    const end = doc.indexOf('?>', i);
    if (end < 0) fail('unterminated XML declaration');
    i = end + 2;
  }
  const skipMisc = () => {
    for (;;) {
      skipWs();
      if (doc.startsWith('<!--', i)) {
        const end = doc.indexOf('-->', i);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else return;
    }
  };
  skipMisc();

  const parseElement = (): XmlElement => {
    if (doc[i] !== '<') fail('expected element');
    i++;
    const m = /^[A-Za-z_][\w.:-]*/.exec(doc.slice(i, i + 200));
    if (!m) return fail('bad element name');
    const name = m[0];
    i += name.length;
    // Attributes (e.g. xmlns) are accepted and ignored.
    for (;;) {
      skipWs();
      if (doc.startsWith('/>', i)) { i += 2; return { name, children: [], text: '' }; }
      if (doc[i] === '>') { i++; break; }
      const a = /^[A-Za-z_][\w.:-]*\s*=\s*("[^"]*"|'[^']*')/.exec(doc.slice(i, i + 4096));
      if (!a) fail('bad attribute');
      i += a![0].length;
    }
    const el: XmlElement = { name, children: [], text: '' };
    for (;;) {
      if (i >= n) fail(`unterminated <${name}>`);
      if (doc.startsWith('</', i)) {
        const close = `</${name}`;
        if (!doc.startsWith(close, i)) fail(`mismatched closing tag for <${name}>`);
        i += close.length;
        skipWs();
        if (doc[i] !== '>') fail('bad closing tag');
        i++;
        return el;
      }
      if (doc.startsWith('<![CDATA[', i)) {
        const end = doc.indexOf(']]>', i);
        if (end < 0) fail('unterminated CDATA');
        el.text += doc.slice(i + 9, end);
        i = end + 3;
      } else if (doc.startsWith('<!--', i)) {
        const end = doc.indexOf('-->', i);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else if (doc[i] === '<') {
        el.children.push(parseElement());
      } else {
        const next = doc.indexOf('<', i);
        const raw = doc.slice(i, next < 0 ? n : next);
        if (/&(?!(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);)/.test(raw)) fail('bad entity');
        el.text += unescapeXml(raw);
        i = next < 0 ? n : next;
      }
    }
  };
  const root = parseElement();
  skipMisc();
  if (i < n) fail('content after the root element');
  return root;
}

export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** Renders `<Name>text</Name>` for each defined entry; nested arrays render nested elements. */
export type XmlValue = string | number | boolean | undefined | null | XmlNode | XmlNode[];
export interface XmlNode { [name: string]: XmlValue }

export function renderXml(node: XmlNode): string {
  let out = '';
  for (const [name, value] of Object.entries(node)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value) out += `<${name}>${renderXml(item)}</${name}>`;
    } else if (typeof value === 'object') {
      out += `<${name}>${renderXml(value)}</${name}>`;
    } else {
      out += `<${name}>${escapeXml(String(value))}</${name}>`;
    }
  }
  return out;
}

export function xmlDocument(root: string, body: XmlNode, withNs = true): string {
  const ns = withNs ? ` xmlns="${OSS_XMLNS}"` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${renderXml(body)}</${root}>\n`;
}
