// A small parser with the behaviour of cobra + pflag as cocoon uses them: a command path of one
// or two words, flags anywhere on the line (`--flag value`, `--flag=value`, `-o json`, `-ojson`),
// `--` ending the flags, and cobra's error texts for bad flags and argument counts.

export type FlagKind = 'bool' | 'string' | 'int';

export interface FlagSpec {
  name: string;
  short?: string;
  kind: FlagKind;
  defaultValue?: string;
  usage: string;
}

export interface ArgRule {
  min: number;
  max: number;
}

export interface ParsableCommand {
  path: string[];
  aliases?: string[];
  use: string;
  summary: string;
  args: ArgRule;
  flags: FlagSpec[];
}

export type Invocation<C> =
  { kind: 'help'; text: string } | { kind: 'run'; command: C; flags: FlagValues; args: string[] };

const HELP_FLAG: FlagSpec = { name: 'help', short: 'h', kind: 'bool', usage: 'help for cocoon' };

export class FlagValues {
  constructor(
    private readonly specs: FlagSpec[],
    private readonly values: Map<string, string>
  ) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  string(name: string): string {
    return this.values.get(name) ?? this.specs.find((s) => s.name === name)?.defaultValue ?? '';
  }

  bool(name: string): boolean {
    return this.string(name) === 'true';
  }

  int(name: string): number {
    return Number(this.string(name) || '0');
  }
}

function displayName(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
}

const TRUE_WORDS = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE_WORDS = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

// Checks a value the way pflag's typed setters do and returns it in a canonical form.
function normaliseValue(spec: FlagSpec, value: string): string {
  const invalid = (parser: string): Error =>
    new Error(
      `invalid argument "${value}" for "${displayName(spec)}" flag: ` +
        `${parser}: parsing "${value}": invalid syntax`
    );

  if (spec.kind === 'bool') {
    if (TRUE_WORDS.includes(value)) return 'true';
    if (FALSE_WORDS.includes(value)) return 'false';
    throw invalid('strconv.ParseBool');
  }

  if (spec.kind === 'int' && !/^[+-]?\d+$/.test(value)) {
    throw invalid('strconv.ParseInt');
  }
  return value;
}

interface ParsedFlags {
  values: Map<string, string>;
  positionals: string[];
}

function parseLongFlag(
  tokens: string[],
  index: number,
  specs: FlagSpec[],
  values: Map<string, string>
): number {
  const body = (tokens[index] ?? '').slice(2);
  const equals = body.indexOf('=');
  const name = equals < 0 ? body : body.slice(0, equals);
  const spec = specs.find((s) => s.name === name);
  if (!spec) {
    throw new Error(`unknown flag: --${name}`);
  }

  let value = equals < 0 ? undefined : body.slice(equals + 1);
  let next = index;
  if (value === undefined && spec.kind === 'bool') {
    value = 'true';
  }
  if (value === undefined) {
    if (index + 1 >= tokens.length) {
      throw new Error(`flag needs an argument: --${name}`);
    }
    next += 1;
    value = tokens[next] ?? '';
  }

  values.set(spec.name, normaliseValue(spec, value));
  return next;
}

function parseShortFlags(
  tokens: string[],
  index: number,
  specs: FlagSpec[],
  values: Map<string, string>
): number {
  const token = tokens[index] ?? '';
  let rest = token.slice(1);
  let next = index;

  while (rest) {
    const letter = rest.charAt(0);
    const spec = specs.find((s) => s.short === letter);
    if (!spec) {
      throw new Error(`unknown shorthand flag: '${letter}' in ${token}`);
    }
    rest = rest.slice(1);

    let value: string;
    if (rest.startsWith('=')) {
      value = rest.slice(1);
      rest = '';
    } else if (spec.kind === 'bool') {
      value = 'true';
    } else if (rest) {
      value = rest;
      rest = '';
    } else if (next + 1 < tokens.length) {
      next += 1;
      value = tokens[next] ?? '';
    } else {
      throw new Error(`flag needs an argument: '${letter}' in -${letter}`);
    }
    values.set(spec.name, normaliseValue(spec, value));
  }
  return next;
}

function parseFlags(tokens: string[], specs: FlagSpec[]): ParsedFlags {
  const values = new Map<string, string>();
  const positionals: string[] = [];

  for (let index = 0; index < tokens.length; index += 1) {
    const token = tokens[index] ?? '';
    if (token === '--') {
      positionals.push(...tokens.slice(index + 1));
      break;
    }

    if (token.startsWith('--')) {
      index = parseLongFlag(tokens, index, specs, values);
    } else if (token.startsWith('-') && token.length > 1) {
      index = parseShortFlags(tokens, index, specs, values);
    } else {
      positionals.push(token);
    }
  }
  return { values, positionals };
}

// Positions of the words that are not flags or values of known global flags. Like cobra, this
// runs before the command is known, so only global flags can be told to take a value.
function findWords(argv: string[], globals: FlagSpec[]): number[] {
  const positions: number[] = [];

  for (let index = 0; index < argv.length; index += 1) {
    const token = argv[index] ?? '';
    if (token === '--') {
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      positions.push(index);
      continue;
    }

    const spec = globals.find((s) => `--${s.name}` === token);
    if (spec && spec.kind !== 'bool') {
      index += 1;
    }
  }
  return positions;
}

interface Resolution<C> {
  command?: C;
  group?: string;
  consumed: number[];
}

function resolveCommand<C extends ParsableCommand>(
  argv: string[],
  positions: number[],
  commands: C[]
): Resolution<C> {
  const [firstAt, secondAt] = positions;
  if (firstAt === undefined) {
    return { consumed: [] };
  }

  const first = argv[firstAt] ?? '';
  const leaf = commands.find((c) => c.path.length === 1 && c.path[0] === first);
  if (leaf) {
    return { command: leaf, consumed: [firstAt] };
  }
  if (!commands.some((c) => c.path[0] === first)) {
    throw new Error(`unknown command "${first}" for "cocoon"`);
  }
  if (secondAt === undefined) {
    return { group: first, consumed: [firstAt] };
  }

  const second = argv[secondAt] ?? '';
  const command = commands.find(
    (c) => c.path[0] === first && (c.path[1] === second || c.aliases?.includes(second))
  );
  if (!command) {
    throw new Error(`unknown command "${second}" for "cocoon ${first}"`);
  }
  return { command, consumed: [firstAt, secondAt] };
}

// cobra's positional-argument validators and their messages.
function validateArgCount(command: ParsableCommand, args: string[]): void {
  const { min, max } = command.args;
  const count = args.length;
  if (count >= min && count <= max) {
    return;
  }

  if (max === 0) {
    throw new Error(`unknown command "${args[0]}" for "cocoon ${command.path.join(' ')}"`);
  }
  if (min === max) {
    throw new Error(`accepts ${min} arg(s), received ${count}`);
  }
  if (max === Number.POSITIVE_INFINITY) {
    throw new Error(`requires at least ${min} arg(s), only received ${count}`);
  }
  throw new Error(`accepts between ${min} and ${max} arg(s), received ${count}`);
}

function describeFlags(specs: FlagSpec[]): string[] {
  return specs.map((spec) => {
    const names = spec.short ? `-${spec.short}, --${spec.name}` : `    --${spec.name}`;
    const suffix = spec.defaultValue ? ` (default "${spec.defaultValue}")` : '';
    return `  ${names.padEnd(22)} ${spec.usage}${suffix}`;
  });
}

function renderHelp<C extends ParsableCommand>(
  commands: C[],
  globals: FlagSpec[],
  resolution: Resolution<C>
): string {
  const { command, group } = resolution;
  const lines: string[] = [];

  if (command) {
    lines.push(command.summary, '', 'Usage:', `  cocoon ${command.path.join(' ')} ${command.use}`);
    if (command.flags.length > 0) {
      lines.push('', 'Flags:', ...describeFlags(command.flags));
    }
  } else {
    const entries = new Map<string, string>();
    for (const c of commands) {
      if (group === undefined) {
        entries.set(c.path[0] ?? '', c.path.length === 1 ? c.summary : `manage ${c.path[0]}s`);
      } else if (c.path[0] === group) {
        entries.set(c.path[1] ?? '', c.summary);
      }
    }
    const usage = group === undefined ? 'cocoon [command]' : `cocoon ${group} [command]`;
    lines.push('cocoon simulator: the cocoon CLI contract without a hypervisor', '');
    lines.push('Usage:', `  ${usage}`, '', 'Available Commands:');
    lines.push(...[...entries].map(([name, summary]) => `  ${name.padEnd(10)} ${summary}`));
  }

  lines.push('', 'Global Flags:', ...describeFlags(globals));
  return lines.join('\n');
}

export function parseInvocation<C extends ParsableCommand>(
  argv: string[],
  commands: C[],
  globals: FlagSpec[]
): Invocation<C> {
  const resolution = resolveCommand(argv, findWords(argv, globals), commands);
  const rest = argv.filter((_, index) => !resolution.consumed.includes(index));
  const specs = [...(resolution.command?.flags ?? []), ...globals, HELP_FLAG];
  const { values, positionals } = parseFlags(rest, specs);
  const flags = new FlagValues(specs, values);
  const { command } = resolution;

  if (!command && positionals.length > 0) {
    throw new Error(`unknown command "${positionals[0]}" for "cocoon ${resolution.group}"`);
  }
  if (!command || flags.bool('help')) {
    return { kind: 'help', text: renderHelp(commands, globals, resolution) };
  }

  validateArgCount(command, positionals);
  return { kind: 'run', command, flags, args: positionals };
}
