import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { clusterHistory } from '../api/fleet-api.js';
import { chainOf, renderTraceChains, traceChains } from '../cluster/history.js';
import { CliError, ExitCode } from '../errors.js';
import { outputFormat, renderDocument } from '../output/document.js';
import { connect, examples, print } from './shared.js';

export function traceCommand(): CommandUnknownOpts {
  const command = new Command('trace')
    .description("A cluster's chain of events across the services, grouped by trace id, with times, the time between events, and a link per trace when a trace UI is set (FLOTILLA_TRACE_URL or the context's traceUrl)")
    .argument('<cluster>', 'cluster id')
    .option('--event <id>', 'only the trace that carried this event (an event id of the history)')
    .option('-o, --output <format>', 'text (default), json or yaml')
    .action(async (cluster, options, self) => {
      const format = outputFormat(options.output, ['text', 'json', 'yaml'] as const, 'text');
      const api = connect(self);
      let chains = traceChains(await clusterHistory(api, cluster));
      if (options.event !== undefined) {
        const chain = chainOf(chains, options.event);
        if (!chain) throw new CliError(`no event ${options.event} in the history of ${cluster}: see the event ids with flotilla trace ${cluster} -o yaml`, ExitCode.NotFound);
        chains = [chain];
      }
      if (format !== 'text') {
        print(renderDocument({ cluster, traces: chains }, format));
        return;
      }
      print(chains.length === 0 ? `no history for ${cluster}` : renderTraceChains(chains, api.connection.traceUrl));
    });
  return examples(command, ['flotilla trace prod-eu-1', 'FLOTILLA_TRACE_URL=http://localhost:16686 flotilla trace prod-eu-1 --event 0b6c...']);
}
