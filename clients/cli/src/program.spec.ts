import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { buildProgram } from './program.js';

function leaves(command: CommandUnknownOpts, path: string[] = []): { path: string; command: CommandUnknownOpts }[] {
  if (command.commands.length === 0) return [{ path: path.join(' '), command }];
  return command.commands.flatMap((child) => leaves(child, [...path, child.name()]));
}

function help(command: CommandUnknownOpts): string {
  let text = '';
  command.configureOutput({ writeOut: (chunk) => (text += chunk) });
  command.outputHelp();
  return text;
}

describe('the command tree', () => {
  const program = buildProgram();

  it('every command has --help with examples that run it', () => {
    const found = leaves(program);
    assert.ok(found.length >= 24, `${found.length} commands`);
    for (const { path, command } of found) {
      const text = help(command);
      assert.match(text, /\nExamples:\n {2}/, `flotilla ${path} --help has no examples`);
      assert.ok(text.includes(`flotilla ${path}`), `the examples of flotilla ${path} do not run it`);
    }
  });

  it('every command that calls the API takes the connection flags after its name', () => {
    for (const { path, command } of leaves(program)) {
      if (['completion', 'models recommend', 'config get-contexts', 'config use-context', 'config current-context', 'config delete-context'].includes(path)) continue;
      const flags = command.options.map((option) => option.long);
      for (const flag of ['--server', '--token', '--ca-file']) assert.ok(flags.includes(flag), `flotilla ${path} lacks ${flag}`);
    }
  });
});
