/**
 * A small assembler from flat WebAssembly text (one instruction per line, `;;` comments, named locals and labels)
 * to a binary module with one exported memory and exported functions. It knows the few instructions our kernels use
 * (integer arithmetic, loads/stores, control flow and the SIMD byte operations) and nothing else: an unknown
 * instruction is a programming error and throws. Why our own: no toolchain (wat2wasm, emscripten) at build time and
 * no dependency; the WebAssembly binary format is simple enough for ~150 lines.
 */

type Immediate = 'none' | 'local' | 'label' | 'block' | 'memarg' | 'i32' | 'v128';
/** Opcode bytes, immediate kind, natural alignment (log2 bytes) for memory accesses. */
type OpInfo = { code: number[]; imm: Immediate; align?: number };

const SIMD = 0xfd;
const OPS: Record<string, OpInfo> = {
  block: { code: [0x02], imm: 'block' },
  loop: { code: [0x03], imm: 'block' },
  end: { code: [0x0b], imm: 'none' },
  br: { code: [0x0c], imm: 'label' },
  br_if: { code: [0x0d], imm: 'label' },
  return: { code: [0x0f], imm: 'none' },
  'local.get': { code: [0x20], imm: 'local' },
  'local.set': { code: [0x21], imm: 'local' },
  'local.tee': { code: [0x22], imm: 'local' },
  'i32.load': { code: [0x28], imm: 'memarg', align: 2 },
  'i32.load8_u': { code: [0x2d], imm: 'memarg', align: 0 },
  'i32.store': { code: [0x36], imm: 'memarg', align: 2 },
  'i32.store8': { code: [0x3a], imm: 'memarg', align: 0 },
  'i32.const': { code: [0x41], imm: 'i32' },
  'i32.eqz': { code: [0x45], imm: 'none' },
  'i32.lt_u': { code: [0x49], imm: 'none' },
  'i32.gt_u': { code: [0x4b], imm: 'none' },
  'i32.le_u': { code: [0x4d], imm: 'none' },
  'i32.ge_u': { code: [0x4f], imm: 'none' },
  'i32.add': { code: [0x6a], imm: 'none' },
  'i32.sub': { code: [0x6b], imm: 'none' },
  'i32.mul': { code: [0x6c], imm: 'none' },
  'i32.and': { code: [0x71], imm: 'none' },
  'i32.xor': { code: [0x73], imm: 'none' },
  'i32.shl': { code: [0x74], imm: 'none' },
  'i32.shr_u': { code: [0x76], imm: 'none' },
  'v128.load': { code: [SIMD, 0x00], imm: 'memarg', align: 4 },
  'v128.store': { code: [SIMD, 0x0b], imm: 'memarg', align: 4 },
  'v128.const': { code: [SIMD, 0x0c], imm: 'v128' },
  'i8x16.swizzle': { code: [SIMD, 0x0e], imm: 'none' },
  'i8x16.splat': { code: [SIMD, 0x0f], imm: 'none' },
  'v128.and': { code: [SIMD, 0x4e], imm: 'none' },
  'v128.xor': { code: [SIMD, 0x51], imm: 'none' },
  'i8x16.shr_u': { code: [SIMD, 0x6d], imm: 'none' },
};

const VALUE_TYPES = { i32: 0x7f, v128: 0x7b } as const;
export type ValueType = keyof typeof VALUE_TYPES;

export interface FuncSource {
  name: string;
  params: [string, ValueType][];
  locals: [string, ValueType][];
  /** Flat instructions, one per line; `$name` for locals and labels. */
  body: string;
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

/** Section ids of the binary format (those we emit, in the order they must appear). */
const SECTION = { type: 1, function: 3, memory: 5, export: 7, code: 10 } as const;
/** Export kinds. */
const EXPORT_FUNC = 0x00;
const EXPORT_MEMORY = 0x02;
/** Type constructor of a function signature. */
const FUNC_TYPE = 0x60;
const MAGIC_AND_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const utf8 = (s: string) => vec([...new TextEncoder().encode(s)].map((b) => [b]));
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

function parseNumber(tok: string | undefined, line: string): number {
  const v = Number(tok);
  if (tok === undefined || !Number.isInteger(v)) throw new Error(`wasm assembler: bad number in "${line}"`);
  return v;
}

/** Encode one instruction line; `labels` is the stack of open block/loop labels (innermost last). */
function encodeLine(line: string, locals: Map<string, number>, labels: string[]): number[] {
  const [name, ...args] = line.split(/\s+/);
  const op = OPS[name!];
  if (!op) throw new Error(`wasm assembler: unknown instruction "${line}"`);
  const out = [...op.code];
  switch (op.imm) {
    case 'none':
      if (name === 'end') labels.pop();
      break;
    case 'block':
      labels.push(args[0] ?? '');
      out.push(0x40); // no result
      break;
    case 'label': {
      const at = labels.lastIndexOf(args[0] ?? '');
      if (at < 0) throw new Error(`wasm assembler: no enclosing label in "${line}"`);
      out.push(...uleb(labels.length - 1 - at));
      break;
    }
    case 'local': {
      const idx = locals.get(args[0] ?? '');
      if (idx === undefined) throw new Error(`wasm assembler: unknown local in "${line}"`);
      out.push(...uleb(idx));
      break;
    }
    case 'memarg': {
      const offset = args.find((a) => a.startsWith('offset='));
      out.push(...uleb(op.align!), ...uleb(offset ? parseNumber(offset.slice(7), line) : 0));
      break;
    }
    case 'i32':
      out.push(...sleb(parseNumber(args[0], line)));
      break;
    case 'v128': {
      if (args[0] !== 'i8x16' || args.length !== 17)
        throw new Error(`wasm assembler: need v128.const i8x16 <16 bytes>`);
      out.push(...args.slice(1).map((a) => parseNumber(a, line) & 0xff));
      break;
    }
  }
  return out;
}

function encodeBody(f: FuncSource): number[] {
  const locals = new Map<string, number>();
  for (const [n] of [...f.params, ...f.locals]) locals.set(n, locals.size);
  const decls = vec(f.locals.map(([, t]) => [1, VALUE_TYPES[t]]));
  const labels: string[] = [];
  const code: number[] = [];
  for (const raw of f.body.split('\n')) {
    const line = raw.replace(/;;.*$/, '').trim();
    if (line) code.push(...encodeLine(line, locals, labels));
  }
  if (labels.length !== 0) throw new Error(`wasm assembler: ${f.name}: unclosed block "${labels.at(-1)}"`);
  const body = [...decls, ...code, 0x0b];
  return [...uleb(body.length), ...body];
}

/** A module with one memory (exported as `memory`, `minPages` of 64 KiB) and the given functions, all exported. */
export function assembleModule(funcs: FuncSource[], minPages: number): Uint8Array {
  const types = funcs.map((f) => [FUNC_TYPE, ...vec(f.params.map(([, t]) => [VALUE_TYPES[t]])), ...vec([])]);
  const exports = [
    [...utf8('memory'), EXPORT_MEMORY, 0],
    ...funcs.map((f, i) => [...utf8(f.name), EXPORT_FUNC, ...uleb(i)]),
  ];
  return new Uint8Array([
    ...MAGIC_AND_VERSION,
    ...section(SECTION.type, vec(types)),
    ...section(SECTION.function, vec(funcs.map((_, i) => uleb(i)))),
    ...section(SECTION.memory, vec([[0x00, ...uleb(minPages)]])), // limits: min only
    ...section(SECTION.export, vec(exports)),
    ...section(SECTION.code, vec(funcs.map(encodeBody))),
  ]);
}
