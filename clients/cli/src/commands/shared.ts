import { InvalidArgumentError } from '@commander-js/extra-typings';
import { ApiClient } from '../api/http.js';
import { resolveConnection, type GlobalOptions } from '../config/connection.js';

interface OptionsHolder {
  opts(): object;
  optsWithGlobals(): object;
  readonly parent: OptionsHolder | null;
}

/**
 * The API client for this invocation, from the connection flags, the environment and the
 * configuration. `ownContext`: the command's --context means something else (a kubeconfig's), so
 * the Flotilla context comes only from before the command's name.
 */
export function connect(command: OptionsHolder, ownContext = false): ApiClient {
  if (!ownContext) return new ApiClient(resolveConnection(command.optsWithGlobals()));
  const { server, token, caFile } = command.opts() as GlobalOptions;
  const inherited = (command.parent?.optsWithGlobals() ?? {}) as GlobalOptions;
  return new ApiClient(resolveConnection({ ...inherited, ...(server ? { server } : {}), ...(token ? { token } : {}), ...(caFile ? { caFile } : {}) }));
}

const EXAMPLES = new WeakMap<object, readonly string[]>();

/** Adds an "Examples:" section to the command's --help. */
export function examples<C extends { addHelpText(position: 'after', text: string): unknown }>(command: C, lines: readonly string[]): C {
  command.addHelpText('after', `\nExamples:\n${lines.map((line) => `  ${line}`).join('\n')}\n`);
  EXAMPLES.set(command, lines);
  return command;
}

interface HelpNode {
  name(): string;
  readonly commands: readonly HelpNode[];
  addHelpText(position: 'after', text: string): unknown;
}

/** Gives every command without examples of its own those of its parents that run it (`flotilla tokens list ...` for tokens list). */
export function inheritExamples(command: HelpNode, path: string[] = [], inherited: readonly string[] = []): void {
  const own = EXAMPLES.get(command);
  if (own === undefined && path.length > 0) {
    const prefix = `flotilla ${path.join(' ')}`;
    const lines = inherited.filter((line) => line === prefix || line.startsWith(`${prefix} `));
    if (lines.length > 0) examples(command, lines);
  }
  for (const child of command.commands) inheritExamples(child, [...path, child.name()], [...inherited, ...(own ?? [])]);
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Progress and notes go to stderr, so stdout stays what scripts read. */
export function note(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** A positive whole number option, else a usage error naming it. */
export function wholeNumber(flag: string, minimum = 0) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < minimum) {
      throw new InvalidArgumentError(`${flag} must be a whole number${minimum > 0 ? ` of at least ${minimum}` : ''}`);
    }
    return value;
  };
}
