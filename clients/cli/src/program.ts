import { readFileSync } from 'node:fs';
import { Command, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { completionCommand } from './commands/completion.js';
import { importCommand, registerCommand } from './commands/connect.js';
import { describeCommand } from './commands/describe.js';
import { dlqCommand } from './commands/dlq.js';
import { getCommand } from './commands/get.js';
import { kubeconfigCommand } from './commands/kubeconfig.js';
import { createCommand, deleteCommand, scaleCommand } from './commands/lifecycle.js';
import { modelsCommand } from './commands/models.js';
import { configCommand, loginCommand } from './commands/session.js';
import { examples, inheritExamples } from './commands/shared.js';
import { tokensCommand } from './commands/tokens.js';
import { traceCommand } from './commands/trace.js';
import { upgradeCommand } from './commands/upgrade.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const EXIT_CODES = `
Exit codes: 0 done, 1 failed or refused, 2 usage, 3 timed out waiting, 4 not logged in or not allowed,
5 API unreachable, 6 not found.`;

function connectionOptions(): Option[] {
  return [
    new Option('--server <url>', 'API address, e.g. https://localhost:8443 (overrides the context; env FLOTILLA_SERVER)'),
    new Option('--token <token>', 'bearer token (overrides the context; env FLOTILLA_TOKEN)'),
    new Option('--context <name>', 'context of the configuration file to use (login: the name to save it as)'),
    new Option('--ca-file <file>', 'PEM file of the CA that signed the server certificate (env FLOTILLA_CA_FILE)'),
  ];
}

/** The whole command tree; main.ts runs it, tests read it. */
export function buildProgram(): Command {
  // Positional options: `--version` of the program is not `get clusters --version 1.34`. The
  // connection flags are given to every command, so they work before or after its name.
  const program = new Command('flotilla')
    .description('The Flotilla fleet from a terminal: clusters, imports, upgrades, tokens')
    .version(version, '--version', 'print the version')
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)');
  for (const option of connectionOptions()) program.addOption(option);
  for (const command of [
    loginCommand(),
    configCommand(),
    getCommand(),
    describeCommand(),
    createCommand(),
    scaleCommand(),
    upgradeCommand(),
    deleteCommand(),
    importCommand(),
    registerCommand(),
    kubeconfigCommand(),
    traceCommand(),
    tokensCommand(),
    dlqCommand(),
    modelsCommand(),
  ]) {
    program.addCommand(command);
  }
  program.addCommand(completionCommand(program));
  const addConnectionOptions = (command: CommandUnknownOpts) => {
    // A command that gives a flag its own meaning (import cluster --context: the kubeconfig's) keeps it.
    const taken = new Set(command.options.map((option) => option.long));
    if (command.commands.length > 0) {
      command.commands.forEach(addConnectionOptions);
      return;
    }
    for (const option of connectionOptions()) if (!taken.has(option.long)) command.addOption(option);
  };
  program.commands.forEach(addConnectionOptions);
  program.addHelpText('after', EXIT_CODES);
  inheritExamples(program);
  return examples(program, [
    'flotilla login --server https://localhost:8443 --ca-file .data/tls/ca.crt --token "$(cat .data/admin-token)"',
    'flotilla get clusters -o wide',
    'flotilla create cluster -f cluster.yaml --wait',
    'flotilla describe cluster prod-eu-1',
  ]);
}
