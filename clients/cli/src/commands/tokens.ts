import { Command, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import type { TokenDescription } from '../api/types.js';
import { parseLabelSelector } from '../cluster/cluster-table.js';
import { outputFormat, renderDocument } from '../output/document.js';
import { renderCells } from '../output/table.js';
import { connect, examples, note, print } from './shared.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function tokensCommand(): CommandUnknownOpts {
  const tokens = new Command('tokens').description('API tokens (admins)');
  tokens
    .command('create')
    .description('Issue a token; it is printed once, on stdout')
    .requiredOption('--subject <who>', 'who will present it: a person, a team, a service account')
    .addOption(new Option('--role <role>', 'what it may do').choices(['viewer', 'operator', 'admin'] as const).makeOptionMandatory())
    .option('--expires-in <duration>', 'how long it lives: 30m, 12h, 90d (default 90d, at most 366d)')
    .option('--scope <key=value>', 'limit it to clusters carrying this label (repeatable)', collect, [] as string[])
    .option('--description <text>', 'what it is for')
    .action(async (options, self) => {
      const labels = parseLabelSelector(options.scope);
      const body = {
        subject: options.subject,
        role: options.role,
        ...(options.expiresIn ? { expiresIn: options.expiresIn } : {}),
        ...(Object.keys(labels).length ? { scope: { labels } } : {}),
        ...(options.description ? { description: options.description } : {}),
      };
      const created = await connect(self).json<TokenDescription & { token: string }>({ method: 'POST', path: '/api/v1/tokens', body });
      note(`token ${created.id} for ${created.subject} (${created.role}), expires ${created.expiresAt}; it is not shown again`);
      print(created.token);
    });
  tokens
    .command('list')
    .description('Tokens issued (never the tokens themselves)')
    .option('--expired', 'include expired tokens')
    .option('-o, --output <format>', 'table (default), json or yaml')
    .action(async (options, self) => {
      const format = outputFormat(options.output, ['table', 'json', 'yaml'] as const, 'table');
      const { items } = await connect(self).json<{ items: TokenDescription[] }>({ path: '/api/v1/tokens', query: { expired: options.expired ? 'true' : undefined } });
      if (format !== 'table') {
        print(renderDocument({ items }, format));
        return;
      }
      const rows = items.map((token) => [
        token.id,
        token.subject,
        token.role,
        token.scope ? Object.entries(token.scope.labels).map(([key, value]) => `${key}=${value}`).join(',') : '',
        token.expiresAt,
        token.revokedAt ?? '',
        token.description ?? '',
      ]);
      print(renderCells(['ID', 'SUBJECT', 'ROLE', 'SCOPE', 'EXPIRES', 'REVOKED', 'DESCRIPTION'], rows));
    });
  tokens
    .command('revoke')
    .description('Revoke a token on every service within seconds')
    .argument('<id>', 'token id (flotilla tokens list)')
    .action(async (id, _options, self) => {
      const revoked = await connect(self).json<TokenDescription>({ method: 'DELETE', path: `/api/v1/tokens/${encodeURIComponent(id)}` });
      print(`token ${revoked.id} of ${revoked.subject} revoked`);
    });
  return examples(tokens, [
    'flotilla tokens create --subject ci-deploy --role operator --expires-in 30d --scope team=shop',
    'flotilla tokens list --expired',
    'flotilla tokens revoke 2f6c...',
  ]);
}
