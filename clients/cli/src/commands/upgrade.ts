import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { createUpgradePlan, supportMatrix } from '../api/fleet-api.js';
import { renderPlan } from '../cluster/plan-view.js';
import { outputFormat, renderDocument } from '../output/document.js';
import { upgradeClusterCommand } from './lifecycle.js';
import { connect, examples, print, wholeNumber } from './shared.js';

function planCommand(): CommandUnknownOpts {
  const command = new Command('plan')
    .description('Plan upgrading the global cluster to a platform release: every workload cluster\'s path and action, in waves')
    .requiredOption('--to <release>', 'the platform release to go to, e.g. 4.3')
    .option('--from <release>', 'the release the global cluster is on (default: the one in force)')
    .option('--kubernetes <minor>', 'the Kubernetes minor to take workload clusters to (default: the newest of the target release)')
    .option('--max-concurrency <count>', 'clusters per wave', wholeNumber('--max-concurrency', 1))
    .option('-o, --output <format>', 'table (default), json or yaml')
    .action(async (options, self) => {
      const format = outputFormat(options.output, ['table', 'json', 'yaml'] as const, 'table');
      const api = connect(self);
      const fromRelease = options.from ?? (await supportMatrix(api)).platformRelease.release;
      const plan = await createUpgradePlan(api, {
        fromRelease,
        toRelease: options.to,
        ...(options.kubernetes ? { toVersion: options.kubernetes } : {}),
        ...(options.maxConcurrency ? { maxConcurrency: options.maxConcurrency } : {}),
      });
      print(format === 'table' ? renderPlan(plan) : renderDocument(plan, format));
    });
  return examples(command, ['flotilla upgrade plan --to 4.3', 'flotilla upgrade plan --from 4.1 --to 4.3 --max-concurrency 5 -o yaml']);
}

export function upgradeCommand(): CommandUnknownOpts {
  return new Command('upgrade').description('Plan and carry out upgrades').addCommand(upgradeClusterCommand()).addCommand(planCommand());
}
