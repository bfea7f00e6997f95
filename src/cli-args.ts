// The command-line reading the two CLIs (gpss-pg, oss-emulator) share: node:util's parseArgs
// does the lexing (`--flag value`, `--flag=value`, `-h`, repeated flags) and hands back the flags
// in order; each CLI keeps its own table of flags, checks and error texts.
import { parseArgs } from 'node:util';

export interface FlagSpec {
  /** Flags that take a value, e.g. '--listen'. */
  values: readonly string[];
  /** Flags without a value, e.g. '--insecure'. */
  switches: readonly string[];
  /** Short aliases, e.g. { h: '--help' }. */
  short?: Readonly<Record<string, string>>;
}

export interface CliFlag {
  /** The flag as named in the spec ('--listen'); an unknown one or a stray word as written. */
  name: string;
  /** Its value; throws "<flag> needs a value" when none was given. */
  value(): string;
}

/** The flags of `argv` in order. Unknown flags and stray words come back as such (name as written). */
export function readFlags(argv: readonly string[], spec: FlagSpec): CliFlag[] {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const f of spec.values) options[f.replace(/^--/, '')] = { type: 'string' };
  for (const f of spec.switches) options[f.replace(/^--/, '')] = { type: 'boolean' };
  for (const [s, f] of Object.entries(spec.short ?? {})) options[f.replace(/^--/, '')].short = s;
  // strict: false so that the CLI, not parseArgs, words the error about an unknown flag.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const out: CliFlag[] = [];
  for (const t of tokens) {
    if (t.kind === 'option') {
      const known = Object.prototype.hasOwnProperty.call(options, t.name);
      const name = known ? `--${t.name}` : t.rawName;
      const raw = t.rawName;
      const v = t.value;
      out.push({
        name,
        value: () => {
          if (v === undefined) throw new Error(`${raw} needs a value`);
          return v;
        },
      });
    } else {
      const word = t.kind === 'positional' ? t.value : '--';
      out.push({ name: word, value: () => word });
    }
  }
  return out;
}
