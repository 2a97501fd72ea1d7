import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { connectedCluster, fleetEntry, getCluster, provisionerCluster, supportMatrix } from '../api/fleet-api.js';
import { describeTree, type ClusterFacts } from '../cluster/describe-tree.js';
import { historyTable } from '../cluster/history.js';
import { CliError, ExitCode } from '../errors.js';
import { outputFormat, renderDocument } from '../output/document.js';
import { renderTree } from '../output/tree.js';
import { connect, examples, note, print, wholeNumber } from './shared.js';

/** A supplementary read: what another service adds is left out (with a note) when it cannot be read, but a login problem stops everything. */
async function optional<T>(what: string, read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof CliError && error.exitCode !== ExitCode.Unauthorized) {
      note(`(${what} left out: ${error.message})`);
      return undefined;
    }
    throw error;
  }
}

export function describeCommand(): CommandUnknownOpts {
  const describe = new Command('describe').description('Show one resource in detail');
  const cluster = describe
    .command('cluster')
    .description('A cluster as a tree like clusterctl: spec and responsibilities, conditions, control plane and pools with machines by state, version under the policy, tunnel, and its recent history')
    .argument('<name>', 'cluster id')
    .option('--history <count>', 'history lines to show (newest)', wholeNumber('--history'), 15)
    .option('-o, --output <format>', 'tree (default), json or yaml: everything gathered')
    .action(async (name, options, self) => {
      const format = outputFormat(options.output, ['tree', 'json', 'yaml'] as const, 'tree');
      const api = connect(self);
      const detail = await getCluster(api, name);
      const [provisioner, connected, fleet, matrix] = await Promise.all([
        // The provisioner holds machines of the platform's own models only.
        detail.model === 'connected' || detail.model === 'public-cloud' ? undefined : optional('machines', provisionerCluster(api, name)),
        detail.model === 'connected' ? optional('import', connectedCluster(api, name)) : undefined,
        optional('planner view', fleetEntry(api, name)),
        optional('version policy', supportMatrix(api)),
      ]);
      const facts: ClusterFacts = { cluster: detail, provisioner, connected, fleet, matrix };
      if (format !== 'tree') {
        print(renderDocument(facts, format));
        return;
      }
      print(renderTree(describeTree(facts)));
      const recent = detail.history.slice(0, options.history);
      if (recent.length > 0) {
        print(`\nHistory (newest ${recent.length}${detail.historyNextCursor || detail.history.length > recent.length ? ', more with flotilla trace' : ''}):`);
        print(historyTable(recent, true));
      }
    });
  examples(cluster, ['flotilla describe cluster prod-eu-1', 'flotilla describe cluster prod-eu-1 --history 50', 'flotilla describe cluster prod-eu-1 -o yaml']);
  return describe;
}
