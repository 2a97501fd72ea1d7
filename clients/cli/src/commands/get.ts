import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { listClusters } from '../api/fleet-api.js';
import { CLUSTER_MODELS, CLUSTER_STATUSES, type Cluster } from '../api/types.js';
import { clusterColumns, matchesFilter, parseLabelSelector, rowKey, type ClusterFilter } from '../cluster/cluster-table.js';
import { ExitCode } from '../errors.js';
import { outputFormat, renderDocument } from '../output/document.js';
import { renderTable } from '../output/table.js';
import { connect, examples, print } from './shared.js';

const WATCH_INTERVAL_MS = 2000;
const FORMATS = ['table', 'wide', 'json', 'yaml'] as const;

export function getCommand(): CommandUnknownOpts {
  const get = new Command('get').description('List resources');
  const clusters = get
    .command('clusters')
    .alias('cluster')
    .description('List the fleet like kubectl: NAME MODEL STATUS VERSION NODES ACCESS AGE (every page)')
    .argument('[name]', 'only this cluster')
    .addOption(new Option('--model <model>', 'only clusters of this model').choices(CLUSTER_MODELS))
    .addOption(new Option('--status <status>', 'only clusters in this status').choices(CLUSTER_STATUSES))
    .option('--version <version>', 'only clusters on this Kubernetes minor (1.34) or version (1.34.2)')
    .option('--provider <provider>', 'only clusters of this infrastructure or import provider (eks, aks, gke, cncf, ...)')
    .option('-l, --selector <key=value>', 'only clusters carrying this label (repeatable, or comma-separated)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('-o, --output <format>', `output format: ${FORMATS.join(', ')}`)
    .option('-w, --watch', 'after the list, print each cluster again when it changes (Ctrl-C stops)')
    .action(async (name, options, self) => {
      const format = outputFormat(options.output, FORMATS, 'table');
      const filter: ClusterFilter = {
        ...(options.model ? { model: options.model } : {}),
        ...(options.status ? { status: options.status } : {}),
        ...(options.version ? { version: options.version } : {}),
        ...(options.provider ? { provider: options.provider } : {}),
        ...(options.selector.length ? { labels: parseLabelSelector(options.selector) } : {}),
      };
      const api = connect(self);
      // The API filters by what it knows; every filter is applied here too, whatever the API's version.
      const query = {
        ...(filter.model ? { model: filter.model } : {}),
        ...(filter.status ? { status: filter.status } : {}),
        ...(filter.version ? { version: filter.version } : {}),
        ...(filter.provider ? { provider: filter.provider } : {}),
        ...(filter.labels ? { labels: Object.entries(filter.labels).map(([key, value]) => `${key}=${value}`).join(',') } : {}),
      };
      const fetchRows = async () => (await listClusters(api, query)).filter((cluster) => matchesFilter(cluster, filter) && (name === undefined || cluster.id === name));
      const rows = await fetchRows();
      const show = (items: Cluster[], withHeader: boolean): string => {
        switch (format) {
          case 'json':
          case 'yaml':
            // One cluster asked for by name is printed alone, as kubectl does; a list as { items }.
            return renderDocument(withHeader && name === undefined ? { items } : items.length === 1 ? items[0] : { items }, format);
          case 'table':
          case 'wide': {
            const table = renderTable(clusterColumns(new Date(), format === 'wide'), items);
            return withHeader ? table : table.slice(table.indexOf('\n') + 1);
          }
        }
      };
      if (rows.length === 0 && !options.watch && (format === 'table' || format === 'wide')) {
        process.stderr.write(name === undefined ? 'No clusters found.\n' : `cluster "${name}" not found\n`);
        if (name !== undefined) process.exitCode = ExitCode.NotFound;
        return;
      }
      print(show(rows, true));
      if (!options.watch) return;
      const seen = new Map(rows.map((cluster) => [cluster.id, rowKey(cluster)]));
      for (;;) {
        await sleep(WATCH_INTERVAL_MS);
        const changed = (await fetchRows()).filter((cluster) => seen.get(cluster.id) !== rowKey(cluster));
        for (const cluster of changed) seen.set(cluster.id, rowKey(cluster));
        if (changed.length > 0) print(show(changed, false));
      }
    });
  examples(clusters, [
    'flotilla get clusters',
    'flotilla get clusters --model connected --status Running -o wide',
    'flotilla get clusters -l team=payments --version 1.33 -o yaml',
    'flotilla get clusters --watch',
  ]);
  return get;
}
