/**
 * The command-line parser of the lean launcher path: a strict subset of oclif's parser, for the flag and
 * argument definitions oclif itself holds (recorded at build time, see scripts/bundle-commands.js).
 *
 * It accepts only what it can read exactly as oclif does: `--name value`, `--name=value`, `-c value`, boolean
 * `--name` / `-c`, each flag at most once, an option flag's environment variable when it is not given, option values from the flag's list, exactly the declared number of
 * arguments. Anything else (--help, `--`, an unknown or repeated flag, a missing or dash-led value, combined
 * short flags, a wrong number of arguments) returns undefined and the launcher hands the command line to oclif,
 * so usage errors and help always come from oclif itself.
 */

/** One flag as oclif defines it (the fields the parser needs). */
export interface HotFlagSpec {
  type: 'boolean' | 'option';
  char?: string;
  /** Other long names (`--topology` for `--file`) and short names (`-t`) of the flag, as oclif accepts them. */
  aliases?: string[];
  charAliases?: string[];
  /** Environment variable whose value the flag takes when it is not given (option flags only), as in oclif. */
  env?: string;
  default?: string | boolean;
  options?: string[];
}

/** One command as oclif defines it: its arguments in order (all required) and its flags. */
export interface HotCommandSpec {
  args: string[];
  flags: Record<string, HotFlagSpec>;
}

export interface HotParsed {
  args: Record<string, string>;
  flags: Record<string, string | boolean>;
}

/** Parse `argv` (after the command id), or undefined when oclif must do it. */
export function parseHotArgv(
  argv: readonly string[],
  spec: HotCommandSpec,
  env: Readonly<Record<string, string | undefined>> = {},
): HotParsed | undefined {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  const byChar = new Map<string, string>();
  const byAlias = new Map<string, string>();
  for (const [name, f] of Object.entries(spec.flags)) {
    for (const c of [f.char, ...(f.charAliases ?? [])]) if (c) byChar.set(c, name);
    for (const a of f.aliases ?? []) byAlias.set(a, name);
  }
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '-' || !token.startsWith('-')) {
      positional.push(token);
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      name = eq < 0 ? token.slice(2) : token.slice(2, eq);
      name = byAlias.get(name) ?? name;
      inline = eq < 0 ? undefined : token.slice(eq + 1);
    } else if (token.length === 2) {
      name = byChar.get(token.slice(1));
    }
    const f = name === undefined ? undefined : spec.flags[name];
    if (name === undefined || f === undefined || Object.hasOwn(flags, name)) return undefined;
    if (f.type === 'boolean') {
      if (inline !== undefined) return undefined;
      flags[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    if (f.options && !f.options.includes(value)) return undefined;
    flags[name] = value;
  }
  if (positional.length !== spec.args.length) return undefined;
  for (const [name, f] of Object.entries(spec.flags)) {
    if (Object.hasOwn(flags, name)) continue;
    // oclif: a flag not given takes its environment variable when that is set and not empty, else its default.
    const fromEnv = f.env === undefined ? undefined : env[f.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      if (f.options && !f.options.includes(fromEnv)) return undefined;
      flags[name] = fromEnv;
    } else if (f.default !== undefined) flags[name] = f.default;
  }
  return { args: Object.fromEntries(spec.args.map((a, i) => [a, positional[i] as string])), flags };
}
