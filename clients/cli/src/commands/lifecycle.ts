import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { approveUpgradeStep, createCluster, deleteCluster, getUpgradePlan, listUpgradePlans, scaleNodePool } from '../api/fleet-api.js';
import type { ApiClient } from '../api/http.js';
import { untilDeleted, untilRunning, untilScaled, untilUpgraded, type WaitGoal } from '../cluster/goals.js';
import { minorOf } from '../cluster/version-status.js';
import { parseTimeout, shouldWait, waitFor } from '../cluster/wait.js';
import { CliError, ExitCode, usageError } from '../errors.js';
import { confirm } from './confirm.js';
import { connect, examples, note, print, wholeNumber } from './shared.js';
import { readDocument } from './spec-file.js';

export const DEFAULT_TIMEOUT = '15m';

/** The help of --wait, --no-wait and --timeout, the same on every long operation. */
export const WAIT_HELP = 'wait until the operation ends, showing its progress (default on a terminal)';
export const NO_WAIT_HELP = 'return as soon as the request is accepted (default when not on a terminal)';
export const TIMEOUT_HELP = 'how long --wait waits (90s, 15m, 1h)';

interface WaitFlags {
  wait?: boolean;
  timeout: string;
}

/** After an accepted request: wait for the goal when asked, else say how to follow it. */
export async function finish(api: ApiClient, id: string, goal: WaitGoal, flags: WaitFlags): Promise<void> {
  if (!shouldWait(flags.wait)) {
    note(`follow it with: flotilla describe cluster ${id}`);
    return;
  }
  print(await waitFor(api, id, goal, parseTimeout(flags.timeout)));
}

export function createCommand(): CommandUnknownOpts {
  const create = new Command('create').description('Create resources');
  const cluster = create
    .command('cluster')
    .description('Request a platform-managed cluster from a spec file (YAML or JSON; the API names every bad field)')
    .argument('[name]', 'cluster id (else the spec\'s id, or one made from its name)')
    .requiredOption('-f, --filename <file>', 'the cluster spec, - for stdin')
    .option('--wait', WAIT_HELP)
    .option('--no-wait', NO_WAIT_HELP)
    .option('--timeout <duration>', TIMEOUT_HELP, DEFAULT_TIMEOUT);
  cluster.action(async (name, options, self) => {
    const spec = (await readDocument(options.filename)) as Record<string, unknown>;
    if (name !== undefined) spec.id = name;
    const api = connect(self);
    const created = await createCluster(api, spec);
    print(`cluster ${created.id} requested (${created.status})`);
    await finish(api, created.id, untilRunning(created.id), options);
  });
  examples(cluster, ['flotilla create cluster -f prod-eu-1.yaml', 'flotilla create cluster edge-7 -f spec.json --wait --timeout 30m', 'cat spec.yaml | flotilla create cluster -f - --no-wait']);
  return create;
}

export function scaleCommand(): CommandUnknownOpts {
  const scale = new Command('scale').description('Change the size of a node pool');
  const cluster = scale
    .command('cluster')
    .description('Set the number of machines of one node pool (scaling down removes the newest machines)')
    .argument('<name>', 'cluster id')
    .requiredOption('--pool <pool>', 'node pool name, as in the cluster spec')
    .requiredOption('--replicas <count>', 'machines the pool should have', wholeNumber('--replicas'))
    .option('--wait', WAIT_HELP)
    .option('--no-wait', NO_WAIT_HELP)
    .option('--timeout <duration>', TIMEOUT_HELP, DEFAULT_TIMEOUT);
  cluster.action(async (name, options, self) => {
    const api = connect(self);
    const accepted = await scaleNodePool(api, name, options.pool, options.replicas);
    print(`pool ${options.pool} of ${name}: scaling to ${options.replicas} requested`);
    await finish(api, name, untilScaled(name, options.pool, options.replicas, accepted.eventId), options);
  });
  examples(cluster, ['flotilla scale cluster prod-eu-1 --pool workers --replicas 5', 'flotilla scale cluster prod-eu-1 --pool gpu --replicas 0 --no-wait']);
  return scale;
}

/**
 * The open plan that has `clusterId` step to `toVersion`'s minor, newest plan first: the step
 * an operator approves belongs to a plan.
 */
async function planWithStep(api: ApiClient, clusterId: string, toVersion: string): Promise<string | undefined> {
  const target = minorOf(toVersion);
  if (!target) throw usageError(`--to: "${toVersion}" is not a Kubernetes version (e.g. 1.35)`);
  const minor = `${target[0]}.${target[1]}`;
  for (const item of (await listUpgradePlans(api)).filter((plan) => plan.status === 'open')) {
    const plan = await getUpgradePlan(api, item.id);
    if (plan.clusters.some((entry) => entry.clusterId === clusterId && entry.path.slice(1).includes(minor))) return plan.id;
  }
  return undefined;
}

export function upgradeClusterCommand(): CommandUnknownOpts {
  const cluster = new Command('cluster')
    .description("Approve one step of an upgrade plan for a cluster: the control plane, then every node, move one minor up")
    .argument('<name>', 'cluster id')
    .requiredOption('--to <version>', 'the Kubernetes version to move to (one minor above what it runs), e.g. 1.35')
    .option('--plan <id>', 'the upgrade plan the step belongs to (default: the newest open plan with this step)')
    .option('--wait', WAIT_HELP)
    .option('--no-wait', NO_WAIT_HELP)
    .option('--timeout <duration>', TIMEOUT_HELP, DEFAULT_TIMEOUT);
  cluster.action(async (name, options, self) => {
    const api = connect(self);
    const planId = options.plan ?? (await planWithStep(api, name, options.to));
    if (planId === undefined) {
      throw new CliError(`no open upgrade plan takes ${name} to ${options.to}: make one with flotilla upgrade plan --to RELEASE, or name it with --plan`, ExitCode.Failed);
    }
    const accepted = await approveUpgradeStep(api, name, planId, options.to);
    print(`upgrade of ${name} to ${options.to} approved (plan ${planId})`);
    await finish(api, name, untilUpgraded(name, options.to, accepted.eventId), options);
  });
  return examples(cluster, ['flotilla upgrade cluster prod-eu-1 --to 1.35', 'flotilla upgrade cluster prod-eu-1 --to 1.35 --plan global-4-3 --timeout 1h']);
}

export function deleteCommand(): CommandUnknownOpts {
  const remove = new Command('delete').description('Delete resources');
  const cluster = remove
    .command('cluster')
    .description('Delete a cluster: a platform-managed one has every machine drained and released; a connected one stops being managed')
    .argument('<name>', 'cluster id')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--reason <text>', "why, for the cluster's history")
    .option('--wait', WAIT_HELP)
    .option('--no-wait', NO_WAIT_HELP)
    .option('--timeout <duration>', TIMEOUT_HELP, DEFAULT_TIMEOUT);
  cluster.action(async (name, options, self) => {
    if (!(await confirm(`Delete cluster ${name}?`, options.yes))) {
      note('not deleted');
      process.exitCode = ExitCode.Failed;
      return;
    }
    const api = connect(self);
    const accepted = await deleteCluster(api, name, options.reason);
    print(`deletion of ${name} requested`);
    await finish(api, name, untilDeleted(name, accepted.eventId), options);
  });
  examples(cluster, ['flotilla delete cluster edge-7', 'flotilla delete cluster edge-7 --yes --reason "replaced by edge-8" --wait']);
  return remove;
}
