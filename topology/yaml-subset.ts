/**
 * Fast path for the common shape of a topology file: block mappings of plain keys whose values are plain
 * words, small integers, or one-line flow collections (`{ kind: storage, f: 1, clouds: [a, b, c, d] }`).
 *
 * Why: the `yaml` package builds a full CST and document tree through layers of generators; on a short-lived
 * CLI that is ~150 ms for a 500-component file (plus ~30 ms to load the package). This reader handles only a
 * deliberately small subset of YAML 1.2 (core schema) in one pass, and returns `undefined` the moment it sees
 * anything else (quotes, anchors, aliases, tags, block scalars, block sequences, tabs, CR, documents,
 * directives, duplicate keys, empty values, numbers it is not sure of, ...). The caller then parses with
 * `yaml` as before, so errors, positions and every other construct keep their existing behaviour; for a
 * file inside the subset the data is exactly what `yaml`'s `toJS()` returns.
 */

/** Words that the core schema reads as a scalar other than a string (null, booleans). */
const RESERVED = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
/** Plain words: a letter or underscore, then letters, digits, `_`, `.`, `/` and `-` (never a number). */
const WORD = /^[A-Za-z_][A-Za-z0-9_./-]*$/;
/** Decimal integers the core schema reads as numbers, small enough to be exact (no leading zeros). */
const INT = /^-?(?:0|[1-9][0-9]{0,14})$/;
/** Implicit keys longer than 1024 characters are an error in YAML; stay far below. */
const MAX_LINE = 1000;

type Value = string | number | Value[] | { [k: string]: Value };

function scalar(token: string): string | number | undefined {
  if (WORD.test(token)) return RESERVED.has(token) ? undefined : token;
  if (INT.test(token)) return Number(token);
  return undefined;
}

function key(token: string): string | undefined {
  return WORD.test(token) && !RESERVED.has(token) && token !== '__proto__' ? token : undefined;
}

/** A one-line flow value starting at `s[i]`; `undefined` (bail out) for anything outside the subset. */
class FlowReader {
  i = 0;
  constructor(private readonly s: string) {}

  private spaces(): void {
    while (this.s.charCodeAt(this.i) === 32) this.i++;
  }

  value(): Value | undefined {
    this.spaces();
    const c = this.s[this.i];
    if (c === '{') return this.map();
    if (c === '[') return this.seq();
    const start = this.i;
    while (this.i < this.s.length && !',[]{}: '.includes(this.s[this.i] as string)) this.i++;
    return scalar(this.s.slice(start, this.i));
  }

  private map(): Value | undefined {
    this.i++; // {
    const out: { [k: string]: Value } = {};
    this.spaces();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.spaces();
      const start = this.i;
      while (this.i < this.s.length && !',[]{}: '.includes(this.s[this.i] as string)) this.i++;
      const k = key(this.s.slice(start, this.i));
      // `key: value` only: no space before the colon, one space after it.
      if (k === undefined || this.s[this.i] !== ':' || this.s[this.i + 1] !== ' ' || Object.hasOwn(out, k)) {
        return undefined;
      }
      this.i += 2;
      const v = this.value();
      if (v === undefined) return undefined;
      out[k] = v;
      this.spaces();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') return undefined;
    }
  }

  private seq(): Value | undefined {
    this.i++; // [
    const out: Value[] = [];
    this.spaces();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      const v = this.value();
      if (v === undefined) return undefined;
      out.push(v);
      this.spaces();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') return undefined;
    }
  }

  /** The whole value of a block entry: one flow value or word, then nothing. */
  all(): Value | undefined {
    const v = this.value();
    this.spaces();
    return v !== undefined && this.i === this.s.length ? v : undefined;
  }
}

/** Drop a comment: `#` at the start or after a space (no quotes exist in the subset, so no `#` in strings). */
function stripComment(line: string): string {
  const hash = line.startsWith('#') ? 0 : line.indexOf(' #');
  return (hash < 0 ? line : line.slice(0, hash)).trimEnd();
}

/**
 * The data of `text` when it lies in the subset (a mapping at the root), else `undefined`. Never throws.
 */
export function readYamlSubset(text: string): Record<string, unknown> | undefined {
  if (text.includes('\r') || text.includes('\t') || text.charCodeAt(0) === 0xfeff) return undefined;
  const root: { [k: string]: Value } = {};
  // Open block mappings, innermost last. A key with nothing after its colon opens a child mapping, which
  // must start on the next content line with a deeper indent.
  const stack: { indent: number; map: { [k: string]: Value } }[] = [];
  let pending: { indent: number; parent: { [k: string]: Value }; key: string } | undefined;
  let lines = 0;
  for (const raw of text.split('\n')) {
    if (raw.length > MAX_LINE) return undefined;
    const line = stripComment(raw);
    if (line === '') continue;
    let indent = 0;
    while (line.charCodeAt(indent) === 32) indent++;
    if (pending) {
      if (indent <= pending.indent) return undefined; // `key:` without a value (null): leave it to yaml
      const map: { [k: string]: Value } = {};
      pending.parent[pending.key] = map;
      stack.push({ indent, map });
      pending = undefined;
    } else if (lines === 0) {
      if (indent !== 0) return undefined;
      stack.push({ indent: 0, map: root });
    }
    lines++;
    while (stack.length > 0 && (stack[stack.length - 1]?.indent as number) > indent) stack.pop();
    const top = stack[stack.length - 1];
    if (!top || top.indent !== indent) return undefined;
    const colon = line.indexOf(':', indent);
    if (colon < 0) return undefined;
    const k = key(line.slice(indent, colon));
    if (k === undefined || Object.hasOwn(top.map, k)) return undefined;
    if (colon === line.length - 1) {
      pending = { indent, parent: top.map, key: k };
      continue;
    }
    if (line[colon + 1] !== ' ') return undefined;
    const v = new FlowReader(line.slice(colon + 2)).all();
    if (v === undefined) return undefined;
    top.map[k] = v;
  }
  if (pending || lines === 0) return undefined;
  return root;
}
