/**
 * YAML parsing that keeps source positions, so every problem can be reported as file:line:column.
 *
 * The `yaml` package gives a document tree whose nodes carry source ranges; `locate` walks a data path
 * (as zod reports it, e.g. ['components', 'vault', 'clouds', 2]) down that tree and returns the position
 * of the key or of the value at the end of it, or of the deepest node that exists on the way (a missing
 * field is reported at the object that lacks it).
 */
import { createRequire } from 'node:module';
import type { Document, LineCounter, Node } from 'yaml';
import type { Problem } from '../kernel/errors.js';
import { readYamlSubset } from './yaml-subset.js';

type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | undefined;
/**
 * The `yaml` package, loaded on first use: a file inside the fast subset (yaml-subset.ts) never needs it
 * unless a problem must be located. It is CommonJS on Node, so a synchronous require keeps parseYaml pure
 * and synchronous.
 */
function yaml(): YamlModule {
  yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule;
  return yamlModule;
}

/** Aliases may be expanded at most this many times (counted as yaml does: uses x nested aliases). */
export const MAX_ALIAS_COUNT = 1000;

/** Syntax errors after the first few are mostly consequences of the first; they are not reported. */
const MAX_SYNTAX_ERRORS = 5;

export type DataPath = readonly (string | number)[];

export interface Position {
  line: number;
  column: number;
}

export interface ParsedYaml {
  /** Undefined when the text could not be parsed into data (see errors). */
  data?: unknown;
  /**
   * The document tree with source ranges. For a file read by the fast subset reader this is built on first
   * access (only when a problem has to be located), so a valid file is parsed once.
   */
  doc?: Document.Parsed;
  lineCounter: LineCounter;
  errors: Problem[];
  warnings: Problem[];
}

/** `components.vault.clouds[2]` for ['components', 'vault', 'clouds', 2]. */
export function formatPath(path: DataPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function positionOf(lc: LineCounter, offset: number): Position {
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

/** Control characters other than tab, newline and carriage return mean the file is not a text file. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: detecting control characters is the point
const BINARY = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFD]/;

export function findBinary(text: string): number {
  const m = BINARY.exec(text);
  return m ? m.index : -1;
}

/** The options every full parse uses (the lazy one of the fast path too, so positions are the same). */
function parseFull(text: string): { doc: Document.Parsed; lineCounter: LineCounter } {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  // uniqueKeys: false because yaml's own check compares every new key with all earlier ones (quadratic in
  // the size of a mapping: noticeable at 500 components); findDuplicateKeys below does it with a Set.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, strict: true });
  return { doc, lineCounter };
}

/**
 * The data of a topology text and its problems, in this order: the fast subset reader; text checks (binary, empty);
 * the full parse (nesting too deep); syntax errors, duplicate keys and warnings; conversion to data (aliases).
 */
export function parseYaml(text: string, file: string): ParsedYaml {
  // Fast path: a file in the plain subset is valid YAML with no errors or warnings, and its data is what
  // yaml's toJS() would give; the document tree (positions) is built only if something asks for it.
  // (Binary text is left to the checks below, which report it: the subset allows anything in comments.)
  const subset = findBinary(text) < 0 ? readYamlSubset(text) : undefined;
  if (subset !== undefined) return lazilyLocated(text, subset);

  const { LineCounter } = yaml();
  const result: ParsedYaml = { lineCounter: new LineCounter(), errors: [], warnings: [] };
  const notText = notTextProblem(text, file);
  if (notText) {
    result.errors.push(notText);
    return result;
  }
  let parsed: { doc: Document.Parsed; lineCounter: LineCounter };
  try {
    parsed = parseFull(text);
  } catch (e) {
    // The parser recurses on nesting; pathological nesting can exhaust the stack.
    result.errors.push({
      code: 'TC006',
      severity: 'error',
      message: `YAML cannot be parsed: ${(e as Error).message}`,
      hint: 'the file is nested too deeply or malformed; a topology needs only a few levels',
      file,
      line: 1,
      column: 1,
    });
    return result;
  }
  const { doc, lineCounter } = parsed;
  result.lineCounter = lineCounter;
  result.doc = doc;
  const tooDeep = doc.errors.some((e) => /call stack/i.test(e.message));
  if (tooDeep) {
    result.errors.push({
      code: 'TC006',
      severity: 'error',
      message: 'YAML is nested too deeply to be parsed',
      hint: 'a topology needs only a few levels of nesting; check that the right file was given',
      file,
      ...positionOf(lineCounter, doc.errors[0]?.pos[0] ?? 0),
    });
    return result;
  }
  result.errors.push(...documentErrors(doc, lineCounter, file));
  result.warnings.push(...documentWarnings(doc, lineCounter, file));
  if (result.errors.length > 0) return result;
  const data = documentData(doc, lineCounter, file);
  if ('problem' in data) result.errors.push(data.problem);
  else result.data = data.value;
  return result;
}

/** The fast path's result: the subset's data now, the document tree and line counter on first access. */
function lazilyLocated(text: string, data: unknown): ParsedYaml {
  let full: { doc: Document.Parsed; lineCounter: LineCounter } | undefined;
  const lazy = () => {
    full ??= parseFull(text);
    return full;
  };
  const errors: Problem[] = [];
  const warnings: Problem[] = [];
  const fast = { data, errors, warnings } as ParsedYaml;
  Object.defineProperty(fast, 'doc', { get: () => lazy().doc, enumerable: true });
  Object.defineProperty(fast, 'lineCounter', { get: () => lazy().lineCounter, enumerable: true });
  return fast;
}

/** Binary data and empty files are refused before parsing (TC004, TC005). */
function notTextProblem(text: string, file: string): Problem | undefined {
  const bin = findBinary(text);
  if (bin >= 0) {
    // Positions are still useful: a stray control character in an otherwise fine file is easy to fix.
    const before = text.slice(0, bin);
    const line = before.split('\n').length;
    const column = bin - before.lastIndexOf('\n');
    return {
      code: 'TC004',
      severity: 'error',
      message: `not a text file: control character U+${text.charCodeAt(bin).toString(16).toUpperCase().padStart(4, '0')} (binary data or invalid UTF-8)`,
      hint: 'a topology is a UTF-8 YAML text file; check that the right file was given',
      file,
      line,
      column,
    };
  }
  if (text.replace(/^\uFEFF/, '').trim() === '') {
    return {
      code: 'TC005',
      severity: 'error',
      message: 'the topology file is empty',
      hint: 'run `tclouds init` to write a commented starting point',
      file,
      line: 1,
      column: 1,
    };
  }
  return undefined;
}

/** Syntax errors (TC006) and duplicate keys (TC007) of a parsed document. */
function documentErrors(doc: Document.Parsed, lineCounter: LineCounter, file: string): Problem[] {
  const errors: Problem[] = [];
  // One real mistake often makes the parser report several follow-on errors at the same place; keep
  // one per position, and only the first few syntax errors.
  const seen = new Set<number>();
  for (const err of doc.errors) {
    if (seen.has(err.pos[0]) || seen.size >= MAX_SYNTAX_ERRORS) continue;
    seen.add(err.pos[0]);
    errors.push({
      code: 'TC006',
      severity: 'error',
      message: `YAML syntax error: ${cleanYamlMessage(err.message)}`,
      hint: 'check indentation (spaces, not tabs), colons after keys and matching quotes/brackets',
      file,
      ...positionOf(lineCounter, err.pos[0]),
    });
  }
  // Duplicate keys are independent of each other: all are reported.
  for (const { key, offset } of findDuplicateKeys(doc)) {
    errors.push({
      code: 'TC007',
      severity: 'error',
      message: `duplicate key "${key}"`,
      hint: 'each key may appear once per mapping; merge the two entries or rename one',
      file,
      ...positionOf(lineCounter, offset),
    });
  }
  return errors;
}

function documentWarnings(doc: Document.Parsed, lineCounter: LineCounter, file: string): Problem[] {
  return doc.warnings.map(
    (w): Problem => ({
      code: 'TC006',
      severity: 'warning',
      message: `YAML: ${cleanYamlMessage(w.message)}`,
      file,
      ...positionOf(lineCounter, w.pos[0]),
    }),
  );
}

/** The data of a document without errors, or why there is none (no content: TC005; alias bomb: TC008). */
function documentData(
  doc: Document.Parsed,
  lineCounter: LineCounter,
  file: string,
): { value: unknown } | { problem: Problem } {
  if (doc.contents === null) {
    return {
      problem: {
        code: 'TC005',
        severity: 'error',
        message: 'the topology file holds no data (only comments or an empty document)',
        hint: 'run `tclouds init` to write a commented starting point',
        file,
        line: 1,
        column: 1,
      },
    };
  }
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (e) {
    const tooMany = e instanceof ReferenceError && /alias/i.test(e.message);
    const firstAlias = firstAliasOffset(doc);
    return {
      problem: {
        code: tooMany ? 'TC008' : 'TC006',
        severity: 'error',
        message: tooMany
          ? `too many YAML alias expansions (limit ${MAX_ALIAS_COUNT}); this looks like an alias bomb`
          : `YAML cannot be converted to data: ${(e as Error).message}`,
        hint: tooMany
          ? 'write the repeated parts out, or use fewer nested anchors (&name) and aliases (*name)'
          : 'check anchors (&name) and aliases (*name)',
        file,
        ...(firstAlias === undefined ? { line: 1, column: 1 } : positionOf(lineCounter, firstAlias)),
      },
    };
  }
}

function cleanYamlMessage(message: string): string {
  // yaml appends "at line X, column Y:" and a code excerpt when prettyErrors is on; keep one line only.
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '').trim();
}

/** Keys that repeat an earlier key of the same mapping (the later occurrence is reported). O(size). */
function findDuplicateKeys(doc: Document.Parsed): { key: string; offset: number }[] {
  const { isMap, isScalar, isSeq } = yaml();
  const out: { key: string; offset: number }[] = [];
  const visit = (node: unknown): void => {
    // Aliases are not followed: they point at nodes visited where they are defined.
    if (isMap(node)) {
      const keys = new Set<string>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          const v = pair.key.value;
          const id = `${typeof v}:${String(v)}`;
          if (keys.has(id)) out.push({ key: String(v), offset: pair.key.range?.[0] ?? 0 });
          keys.add(id);
        }
        visit(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) visit(item);
    }
  };
  visit(doc.contents);
  return out;
}

function firstAliasOffset(doc: Document.Parsed): number | undefined {
  const { isAlias, isMap, isPair, isSeq } = yaml();
  let found: number | undefined;
  const visit = (node: unknown): void => {
    if (found !== undefined || node === null || node === undefined) return;
    if (isAlias(node)) {
      found = node.range?.[0];
    } else if (isMap(node) || isSeq(node)) {
      for (const item of node.items) visit(item);
    } else if (isPair(node)) {
      visit(node.key);
      visit(node.value);
    }
  };
  visit(doc.contents);
  return found;
}

/**
 * Position of `path` in the document: of the key when `at` is 'key' (unknown keys, bad record keys),
 * else of the value. Falls back to the deepest existing ancestor, and to 1:1 for an empty path.
 */
export function locate(parsed: ParsedYaml, path: DataPath, at: 'key' | 'value' = 'value'): Position {
  const doc = parsed.doc;
  if (!doc) return { line: 1, column: 1 };
  const { isAlias, isMap, isScalar, isSeq } = yaml();
  let node: unknown = doc.contents;
  // Position of the last thing found: the key of the pair we descended through, if any.
  let best: number | undefined = rangeStart(node);
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return pos(parsed, best);
      const keyStart = rangeStart(pair.key);
      if (last && at === 'key') return pos(parsed, keyStart ?? best);
      best = keyStart ?? best;
      node = pair.value;
      // A key without a value (`f:`) has no value node: report at the key.
      if (last) return pos(parsed, rangeStart(node) ?? best);
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return pos(parsed, best);
      node = item;
      best = rangeStart(node) ?? best;
      if (last) return pos(parsed, best);
    } else {
      return pos(parsed, best);
    }
  }
  return pos(parsed, rangeStart(node) ?? best);
}

function rangeStart(node: unknown): number | undefined {
  const r = (node as Node | null | undefined)?.range;
  return r ? r[0] : undefined;
}

function pos(parsed: ParsedYaml, offset: number | undefined): Position {
  return offset === undefined ? { line: 1, column: 1 } : positionOf(parsed.lineCounter, offset);
}

/** Whether the user wrote `path` in the file (as opposed to it coming from a default). */
export function isWritten(parsed: ParsedYaml, path: DataPath): boolean {
  // Data from the fast subset has no aliases, merges or defaults: what is in it was written.
  if (parsed.data !== undefined && Object.getOwnPropertyDescriptor(parsed, 'doc')?.get) {
    let node: unknown = parsed.data;
    for (const seg of path) {
      if (node === null || typeof node !== 'object' || !Object.hasOwn(node, seg)) return false;
      node = (node as Record<string | number, unknown>)[seg];
    }
    return true;
  }
  const doc = parsed.doc;
  if (!doc) return false;
  return doc.hasIn(path as (string | number)[]);
}
