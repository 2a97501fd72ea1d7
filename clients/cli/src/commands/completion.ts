import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { usageError } from '../errors.js';
import { examples, print } from './shared.js';

/** What completion needs of a command: its subcommands and options (commander's public fields). */
interface CommandShape {
  name(): string;
  aliases(): string[];
  readonly commands: readonly CommandShape[];
  readonly options: readonly { long?: string | undefined; short?: string | undefined; required: boolean; optional: boolean }[];
}

interface Entry {
  path: string;
  words: string[];
}

function entries(command: CommandShape, path: string[], inherited: string[]): Entry[] {
  const own = command.options.flatMap((option) => [option.long, option.short].filter((flag): flag is string => flag !== undefined));
  const flags = [...inherited, ...own, '--help'];
  const subcommands = command.commands.filter((child) => child.name() !== 'help');
  const here: Entry = { path: path.join(' '), words: [...subcommands.flatMap((child) => [child.name(), ...child.aliases()]), ...flags] };
  return [here, ...subcommands.flatMap((child) => [child.name(), ...child.aliases()].flatMap((name) => entries(child, [...path, name], inherited)))];
}

function valueFlags(command: CommandShape): string[] {
  const own = command.options.filter((option) => option.required || option.optional).flatMap((option) => [option.long, option.short].filter((flag): flag is string => flag !== undefined));
  return [...new Set([...own, ...command.commands.flatMap(valueFlags)])];
}

/** A bash completion script for the program's command tree (zsh loads it through bashcompinit). */
export function bashCompletion(program: CommandShape): string {
  const globals = program.options.flatMap((option) => [option.long, option.short].filter((flag): flag is string => flag !== undefined));
  const cases = entries(program, [], globals)
    .map((entry) => `    "${entry.path}") echo "${[...new Set(entry.words)].join(' ')}" ;;`)
    .join('\n');
  const takesValue = valueFlags(program).join('|');
  return `# flotilla completion (bash): source <(flotilla completion bash)
_flotilla_words() {
  case "$1" in
${cases}
    *) return 1 ;;
  esac
}
_flotilla() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" skip="" word i words
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ -n "$skip" ]]; then skip=""; continue; fi
    case "$word" in
      ${takesValue}) skip=1; continue ;;
      -*) continue ;;
    esac
    path="\${path:+$path }$word"
  done
  # Arguments (a cluster name...) are not commands: drop words from the end until a command matches.
  until words="$(_flotilla_words "$path")"; do
    [[ "$path" == *" "* ]] && path="\${path% *}" || path=""
  done
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _flotilla flotilla
`;
}

export function zshCompletion(program: CommandShape): string {
  return `# flotilla completion (zsh): source <(flotilla completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program)}`;
}

export function completionCommand(program: CommandShape): CommandUnknownOpts {
  const command = new Command('completion')
    .description('Print a shell completion script')
    .argument('<shell>', 'bash or zsh')
    .action((shell) => {
      if (shell === 'bash') print(bashCompletion(program));
      else if (shell === 'zsh') print(zshCompletion(program));
      else throw usageError(`<shell>: "${shell}" is not bash or zsh`);
    });
  return examples(command, ['source <(flotilla completion bash)    # in ~/.bashrc', 'source <(flotilla completion zsh)     # in ~/.zshrc']);
}
