/**
 * The little XML S3 speaks: response documents built from plain values, and the two request bodies the gateway
 * reads (DeleteObjects, CompleteMultipartUpload), parsed with bounded regular expressions (no entities beyond the
 * five predefined ones, no DTDs: nothing an attacker can expand).
 */
import { S3Error } from './errors.js';

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** Largest XML request body read (DeleteObjects of 1000 keys of 1024 bytes fits). */
export const MAX_XML_BODY_BYTES = 2 << 20;
/** S3's limit on keys per DeleteObjects request. */
export const MAX_DELETE_KEYS = 1000;

export type XmlValue = string | number | boolean | undefined | XmlNode | XmlNode[];
export interface XmlNode {
  [tag: string]: XmlValue;
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|apos|quot|#(\d{1,7})|#x([0-9a-fA-F]{1,6}));/g, (_m, name: string, dec, hex) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(Number.parseInt(hex, 16));
    return { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' }[name]!;
  });
}

function render(node: XmlNode): string {
  let out = '';
  for (const [tag, value] of Object.entries(node)) {
    if (value === undefined) continue;
    const items = Array.isArray(value) ? value : [value];
    for (const v of items) {
      out += `<${tag}>${typeof v === 'object' ? render(v) : escapeXml(String(v))}</${tag}>`;
    }
  }
  return out;
}

/** `<?xml ...?><Root xmlns=...>...</Root>` */
export function xmlDocument(root: string, body: XmlNode, xmlns = true): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${xmlns ? ` xmlns="${S3_XMLNS}"` : ''}>${render(body)}</${root}>`;
}

export function errorDocument(code: string, message: string, extra: Record<string, string>, requestId: string): string {
  return xmlDocument('Error', { Code: code, Message: message, ...extra, RequestId: requestId }, false);
}

/** Inner texts of every `<tag>...</tag>` inside `xml` (non-nested tags only). */
function texts(xml: string, tag: string): string[] {
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'g');
  return [...xml.matchAll(re)].map((m) => m[1]!);
}

function requireRoot(xml: string, root: string): string {
  const body = texts(xml, root)[0];
  if (body === undefined) throw new S3Error('MalformedXML', `the body must be a <${root}> document`);
  return body;
}

export function parseDeleteObjects(xml: string): { keys: string[]; quiet: boolean } {
  const body = requireRoot(xml, 'Delete');
  const keys = texts(body, 'Object').map((o) => {
    const k = texts(o, 'Key')[0];
    if (k === undefined) throw new S3Error('MalformedXML', 'every <Object> needs a <Key>');
    return unescapeXml(k);
  });
  if (keys.length === 0 || keys.length > MAX_DELETE_KEYS) {
    throw new S3Error('MalformedXML', `DeleteObjects takes 1-${MAX_DELETE_KEYS} keys`);
  }
  return { keys, quiet: texts(body, 'Quiet')[0]?.trim() === 'true' };
}

export function parseCompleteMultipart(xml: string): { partNumber: number; etag: string }[] {
  const body = requireRoot(xml, 'CompleteMultipartUpload');
  return texts(body, 'Part').map((p) => {
    const n = Number(texts(p, 'PartNumber')[0]);
    const etag = unescapeXml(texts(p, 'ETag')[0] ?? '').trim();
    if (!Number.isInteger(n)) throw new S3Error('MalformedXML', 'every <Part> needs a <PartNumber>');
    return { partNumber: n, etag };
  });
}
