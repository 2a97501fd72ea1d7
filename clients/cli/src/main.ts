#!/usr/bin/env node
// flotilla: the command line of the Flotilla API. Every failure ends here: one line saying what
// was wrong and what to do, and an exit code that says what happened (README.md).
import { CommanderError, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { CliError, ExitCode } from './errors.js';
import { buildProgram } from './program.js';

// A reader that goes away (flotilla get clusters | head) ends the output, not in a crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

async function main(): Promise<void> {
  const program = buildProgram();
  // Commander's own errors (unknown option, missing argument) end as usage errors, in every subcommand.
  const overrideExit = (command: CommandUnknownOpts) => {
    command.exitOverride();
    command.commands.forEach(overrideExit);
  };
  overrideExit(program);
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here too, with code 0.
      process.exitCode = error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
      return;
    }
    if (error instanceof CliError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = ExitCode.Failed;
  }
}

await main();
