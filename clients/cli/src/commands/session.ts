import { resolve } from 'node:path';
import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { ApiClient } from '../api/http.js';
import { configPath, contextNameFor, permissionWarning, readConfig, upsertContext, useContext, writeConfig, type Context } from '../config/config-file.js';
import { parseServer, type GlobalOptions } from '../config/connection.js';
import { usageError } from '../errors.js';
import { renderCells } from '../output/table.js';
import { readSecret } from './secret-input.js';
import { examples, note, print } from './shared.js';

export function loginCommand(): CommandUnknownOpts {
  const command = new Command('login')
    .description('Check a token against the API and save it as a context (and make it the current one)')
    .option('--trace-url <url>', 'base address of the trace UI (Jaeger), for links printed by flotilla trace')
    .action(async (options, self) => {
      const globals = self.optsWithGlobals() as GlobalOptions & { traceUrl?: string };
      if (globals.server === undefined) throw usageError('--server: required, the address of the Flotilla API (npm start prints it: https://localhost:8443)');
      const server = parseServer(globals.server, '--server');
      const token = globals.token ?? (await readSecret('Token: '));
      if (token.length === 0) throw usageError('no token: pass --token or write it on stdin (an admin makes one with flotilla tokens create)');
      const name = globals.context ?? contextNameFor(server.href);
      const context: Context = { name, server: server.origin + server.pathname.replace(/\/+$/, ''), token };
      // Kept absolute: the context is used from any directory later.
      if (globals.caFile !== undefined) context.caFile = resolve(globals.caFile);
      if (options.traceUrl !== undefined) context.traceUrl = options.traceUrl;
      // Any token has at least the viewer role: reading one cluster proves the API takes it.
      await new ApiClient({ server, token, caFile: globals.caFile, traceUrl: undefined, contextName: name }).json({ path: '/api/v1/clusters', query: { limit: 1 } });
      const path = configPath();
      writeConfig(path, useContext(upsertContext(readConfig(path), context), name));
      print(`Logged in to ${context.server} as context "${name}" (now current), saved in ${path}`);
    });
  return examples(command, [
    'flotilla login --server https://localhost:8443 --ca-file .data/tls/ca.crt --token "$(cat .data/admin-token)"',
    'cat token.txt | flotilla login --server https://flotilla.example.com --context prod',
  ]);
}

export function configCommand(): CommandUnknownOpts {
  const config = new Command('config').description(`Contexts of the configuration file ($FLOTILLA_CONFIG or ~/.flotilla/config.yaml)`);
  config
    .command('get-contexts')
    .description('List the contexts; the current one is marked with *')
    .action(() => {
      const path = configPath();
      const warning = permissionWarning(path);
      if (warning) note(warning);
      const file = readConfig(path);
      if (file.contexts.length === 0) {
        note(`no contexts in ${path}: run flotilla login --server URL`);
        return;
      }
      const rows = file.contexts.map((context) => [context.name === file.currentContext ? '*' : '', context.name, context.server, context.caFile ?? '', context.token ? 'yes' : 'no']);
      print(renderCells(['CURRENT', 'NAME', 'SERVER', 'CA FILE', 'TOKEN'], rows));
    });
  config
    .command('use-context')
    .description('Make a context the current one')
    .argument('<name>')
    .action((name) => {
      const path = configPath();
      writeConfig(path, useContext(readConfig(path), name));
      print(`Switched to context "${name}".`);
    });
  config
    .command('current-context')
    .description('Print the name of the current context')
    .action(() => {
      const current = readConfig(configPath()).currentContext;
      if (current === null) throw usageError('no current context: run flotilla login --server URL');
      print(current);
    });
  config
    .command('delete-context')
    .description('Remove a context (and its token) from the file')
    .argument('<name>')
    .action((name) => {
      const path = configPath();
      const file = readConfig(path);
      if (!file.contexts.some((context) => context.name === name)) throw usageError(`no context named "${name}"`);
      writeConfig(path, { currentContext: file.currentContext === name ? null : file.currentContext, contexts: file.contexts.filter((context) => context.name !== name) });
      print(`Deleted context "${name}".`);
    });
  return examples(config, ['flotilla config get-contexts', 'flotilla config use-context prod', 'flotilla config current-context', 'flotilla config delete-context old-lab']);
}
