import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import type { DeadLetter, Page } from '../api/types.js';
import { eventName } from '../cluster/history.js';
import { outputFormat, renderDocument } from '../output/document.js';
import { age, renderCells } from '../output/table.js';
import { connect, examples, print, wholeNumber } from './shared.js';

export function dlqCommand(): CommandUnknownOpts {
  const dlq = new Command('dlq').description("Dead letters: messages a service's consumer refused for good (admins)");
  dlq
    .command('list')
    .description('Dead letters of every service, newest first (every page, or --limit)')
    .option('--service <name>', 'only those a service refused')
    .option('--consumer <name>', 'only those of a durable consumer')
    .option('--type <type>', 'only events of this CloudEvents type')
    .option('--cluster <id>', 'only events about this cluster')
    .option('--not-replayed', 'only those not replayed yet')
    .option('--limit <count>', 'at most this many', wholeNumber('--limit', 1))
    .option('-o, --output <format>', 'table (default), json or yaml')
    .action(async (options, self) => {
      const format = outputFormat(options.output, ['table', 'json', 'yaml'] as const, 'table');
      const api = connect(self);
      const items: DeadLetter[] = [];
      let cursor: string | undefined;
      do {
        const page = await api.json<Page<DeadLetter>>({
          path: '/api/v1/dead-letters',
          query: { service: options.service, consumer: options.consumer, type: options.type, clusterId: options.cluster, replayed: options.notReplayed ? 'false' : undefined, limit: Math.min(options.limit ?? 500, 500), cursor },
        });
        items.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined && (options.limit === undefined || items.length < options.limit));
      const shown = options.limit === undefined ? items : items.slice(0, options.limit);
      if (format !== 'table') {
        print(renderDocument({ items: shown }, format));
        return;
      }
      if (shown.length === 0) {
        print('No dead letters.');
        return;
      }
      const now = new Date();
      const rows = shown.map((letter) => [
        letter.id,
        letter.service,
        letter.event.type ? eventName(letter.event.type) : '',
        letter.event.subject ?? '',
        letter.code,
        age(letter.deadLetteredAt, now),
        letter.replayedAt ? `${age(letter.replayedAt, now)} ago by ${letter.replayedBy ?? '?'}` : '',
        letter.reason,
      ]);
      print(renderCells(['ID', 'SERVICE', 'EVENT', 'SUBJECT', 'CODE', 'AGE', 'REPLAYED', 'REASON'], rows));
    });
  dlq
    .command('replay')
    .description('Send a dead letter back to the consumer that refused it, and to no other (once)')
    .argument('<id>', 'dead letter id (flotilla dlq list)')
    .action(async (id, _options, self) => {
      const answer = await connect(self).json<{ status: 'replayed' | 'already-replayed'; deadLetter: DeadLetter }>({ method: 'POST', path: `/api/v1/dead-letters/${encodeURIComponent(id)}/replay` });
      print(
        answer.status === 'replayed'
          ? `dead letter ${id} sent back to ${answer.deadLetter.consumer}`
          : `dead letter ${id} was replayed before (${answer.deadLetter.replayedAt ?? ''} by ${answer.deadLetter.replayedBy ?? '?'}): nothing sent`,
      );
    });
  return examples(dlq, ['flotilla dlq list --service provisioner --not-replayed', 'flotilla dlq replay 1042']);
}
