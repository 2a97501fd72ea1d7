import { Command, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { parse } from 'yaml';
import type { ApiClient } from '../api/http.js';
import type { CloudCluster, CreatedRegistration } from '../api/types.js';
import { parseLabelSelector } from '../cluster/cluster-table.js';
import { untilRunning } from '../cluster/goals.js';
import { usageError } from '../errors.js';
import { renderCells } from '../output/table.js';
import { DEFAULT_TIMEOUT, finish, NO_WAIT_HELP, TIMEOUT_HELP, WAIT_HELP } from './lifecycle.js';
import { connect, examples, note, print, wholeNumber } from './shared.js';
import { readTextFile } from './spec-file.js';

const CLOUD_PROVIDERS = ['eks', 'aks', 'gke'] as const;
type CloudProvider = (typeof CLOUD_PROVIDERS)[number];
const collect = (value: string, previous: string[]) => [...previous, value];

/** A credential reference the importer takes (lower-case, digits, . _ -) made from the cluster's name. */
export function credentialRefFor(name: string, suffix: string): string {
  const base = `${name}-${suffix}`.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return base.slice(0, 128).replace(/[^a-z0-9]+$/, '') || suffix;
}

/** The API server of a kubeconfig context (the current one when none is named); errors name the file and what is missing. */
export function kubeconfigServer(source: string, file: string, contextName: string | undefined): { server: string; context: string } {
  let document: unknown;
  try {
    document = parse(source);
  } catch (error) {
    throw usageError(`--kubeconfig ${file}: not YAML (${error instanceof Error ? error.message : String(error)})`);
  }
  const config = (document ?? {}) as { 'current-context'?: string; contexts?: { name: string; context?: { cluster?: string } }[]; clusters?: { name: string; cluster?: { server?: string } }[] };
  const name = contextName ?? config['current-context'];
  if (!name) throw usageError(`--kubeconfig ${file}: no current-context; name one with --context`);
  const context = config.contexts?.find((entry) => entry.name === name);
  if (!context) throw usageError(`--kubeconfig ${file}: no context "${name}" (has: ${(config.contexts ?? []).map((entry) => entry.name).join(', ') || 'none'})`);
  const server = config.clusters?.find((entry) => entry.name === context.context?.cluster)?.cluster?.server;
  if (!server) throw usageError(`--kubeconfig ${file}: context "${name}" names no cluster with a server`);
  return { server, context: name };
}

async function storeCredential(api: ApiClient, body: Record<string, unknown>): Promise<void> {
  await api.json({ method: 'POST', path: '/api/v1/credentials', body });
}

async function requestImport(api: ApiClient, body: Record<string, unknown>): Promise<{ id: string }> {
  return api.json({ method: 'POST', path: '/api/v1/imports', body });
}

function importClusterCommand(): CommandUnknownOpts {
  const command = new Command('cluster')
    .description('Import a reachable CNCF-conformant cluster with a kubeconfig: the credential is stored (sealed) and bound to its API server, then the cluster is checked and onboarded')
    .argument('<name>', 'cluster id (a DNS label) and display name')
    .requiredOption('--kubeconfig <file>', 'kubeconfig with a cluster-admin credential')
    .option('--context <context>', "the kubeconfig's context (default: its current-context); a Flotilla context goes before the command: flotilla --context prod import cluster ...")
    .option('--credential-ref <ref>', 'name to store the credential under (default: <name>-kubeconfig)')
    .option('-l, --labels <key=value>', 'labels of the cluster (repeatable)', collect, [] as string[])
    .option('--wait', WAIT_HELP)
    .option('--no-wait', NO_WAIT_HELP)
    .option('--timeout <duration>', TIMEOUT_HELP, DEFAULT_TIMEOUT)
    .action(async (name, options, self) => {
      const source = readTextFile(options.kubeconfig, '--kubeconfig');
      const { server, context } = kubeconfigServer(source, options.kubeconfig, options.context);
      const labels = parseLabelSelector(options.labels);
      const ref = options.credentialRef ?? credentialRefFor(name, 'kubeconfig');
      const api = connect(self, true);
      await storeCredential(api, { ref, kind: 'kubeconfig', kubeconfig: source, context });
      note(`credential ${ref} stored (context ${context}, ${server})`);
      const accepted = await requestImport(api, { id: name, name, credentialRef: ref, provider: 'cncf', apiServer: server, ...(Object.keys(labels).length ? { labels } : {}) });
      print(`import of ${accepted.id} requested`);
      await finish(api, accepted.id, untilRunning(accepted.id), options);
    });
  return examples(command, ['flotilla import cluster edge-3 --kubeconfig ~/.kube/config --context edge-3-admin', 'flotilla import cluster lab --kubeconfig lab.yaml -l team=platform --wait']);
}

/** The cloud location flags each provider needs, as the importer names them. */
function cloudLocation(provider: CloudProvider, options: { region?: string; subscriptionId?: string; resourceGroup?: string; projectId?: string; location?: string }): Record<string, string> {
  const need = (flag: string, value: string | undefined): string => {
    if (value === undefined) throw usageError(`${flag}: required for ${provider}`);
    return value;
  };
  switch (provider) {
    case 'eks':
      return { region: need('--region', options.region) };
    case 'aks':
      return { subscriptionId: need('--subscription-id', options.subscriptionId), ...(options.resourceGroup ? { resourceGroup: options.resourceGroup } : {}) };
    case 'gke':
      return { projectId: need('--project-id', options.projectId), ...(options.location ? { location: options.location } : {}) };
  }
}

function importCloudCommand(): CommandUnknownOpts {
  const command = new Command('cloud')
    .description('Import a managed cluster of a cloud account (EKS, AKS, GKE), or list what the account can import with --list')
    .argument('<provider>', `one of ${CLOUD_PROVIDERS.join(', ')}`)
    .argument('[name]', 'cluster id (a DNS label) and display name')
    .option('--credential-ref <ref>', 'a cloud-account credential stored before')
    .option('--account-file <file>', 'store this account first (eks/aks: a JSON file of its keys; gke: the service-account key file)')
    .option('--cluster-name <name>', "the cluster's name at the provider (default: <name>)")
    .option('--region <region>', 'eks: AWS region')
    .option('--subscription-id <id>', 'aks: Azure subscription id')
    .option('--resource-group <group>', 'aks: resource group')
    .option('--project-id <id>', 'gke: Google Cloud project id')
    .option('--location <location>', 'gke: zone or region')
    .option('--list', 'list the clusters the account can import, import nothing')
    .option('-l, --labels <key=value>', 'labels of the cluster (repeatable)', collect, [] as string[])
    .option('--wait', WAIT_HELP)
    .option('--no-wait', NO_WAIT_HELP)
    .option('--timeout <duration>', TIMEOUT_HELP, DEFAULT_TIMEOUT)
    .action(async (providerText, name, options, self) => {
      if (!(CLOUD_PROVIDERS as readonly string[]).includes(providerText)) throw usageError(`<provider>: "${providerText}" is not one of ${CLOUD_PROVIDERS.join(', ')}`);
      const provider = providerText as CloudProvider;
      const location = cloudLocation(provider, options);
      const api = connect(self);
      let ref = options.credentialRef;
      if (options.accountFile !== undefined) {
        const text = readTextFile(options.accountFile, '--account-file');
        let account: unknown = text;
        if (provider !== 'gke') {
          try {
            account = JSON.parse(text);
          } catch {
            throw usageError(`--account-file ${options.accountFile}: must be JSON for ${provider} (${provider === 'eks' ? 'accessKeyId, secretAccessKey, sessionToken' : 'tenantId, clientId, clientSecret'})`);
          }
        }
        ref ??= credentialRefFor(name ?? provider, `${provider}-account`);
        await storeCredential(api, { ref, kind: 'cloud-account', provider, account });
        note(`cloud account stored as credential ${ref}`);
      }
      if (ref === undefined) throw usageError('--credential-ref or --account-file: the cloud account to use is required');
      if (options.list) {
        const { items } = await api.json<{ items: CloudCluster[] }>({ path: `/api/v1/cloud-accounts/${encodeURIComponent(ref)}/clusters`, query: { provider, ...location } });
        print(renderCells(['NAME', 'LOCATION', 'VERSION', 'STATUS', 'ENDPOINT'], items.map((item) => [item.name, item.resourceGroup ? `${item.location} (${item.resourceGroup})` : item.location, item.version, item.status, item.endpoint ?? ''])));
        return;
      }
      if (name === undefined) throw usageError('[name]: required to import (or pass --list)');
      const labels = parseLabelSelector(options.labels);
      const cloud = { clusterName: options.clusterName ?? name, ...location };
      const accepted = await requestImport(api, { id: name, name, credentialRef: ref, provider, cloud, ...(Object.keys(labels).length ? { labels } : {}) });
      print(`import of ${accepted.id} from ${provider} requested`);
      await finish(api, accepted.id, untilRunning(accepted.id), options);
    });
  return examples(command, [
    'flotilla import cloud eks --account-file aws.json --region eu-west-1 --list',
    'flotilla import cloud eks shop-prod --credential-ref aws-prod --region eu-west-1 --cluster-name shop',
    'flotilla import cloud aks analytics --credential-ref azure --subscription-id 0000-... --resource-group data',
    'flotilla import cloud gke ml --account-file sa-key.json --project-id ml-prod --location europe-west1',
  ]);
}

export function importCommand(): CommandUnknownOpts {
  return new Command('import').description('Bring existing clusters under management').addCommand(importClusterCommand()).addCommand(importCloudCommand());
}

export function registerCommand(): CommandUnknownOpts {
  const register = new Command('register').description('Register clusters the global side cannot reach');
  const cluster = register
    .command('cluster')
    .description('Issue a registration and print the tunnel agent manifest to stdout, to pipe to kubectl apply -f - in the cluster (the token in it is shown once)')
    .argument('<name>', 'display name of the cluster; its id is made from it')
    .option('-l, --labels <key=value>', 'labels of the cluster (repeatable)', collect, [] as string[])
    .option('--ttl-hours <hours>', 'hours the registration token stays valid (default: the importer\'s, 24)', wholeNumber('--ttl-hours', 1))
    .addOption(new Option('--tunnel-url <url>', 'where the agent enrolls and dials (default: the importer\'s setting)'))
    .action(async (name, options, self) => {
      const labels = parseLabelSelector(options.labels);
      const body = { clusterName: name, ...(Object.keys(labels).length ? { labels } : {}), ...(options.ttlHours ? { ttlHours: options.ttlHours } : {}), ...(options.tunnelUrl ? { tunnelUrl: options.tunnelUrl } : {}) };
      const created = await connect(self).json<CreatedRegistration>({ method: 'POST', path: '/api/v1/registrations', body });
      note(`cluster ${created.clusterId}: registration ${created.registrationId}, valid until ${created.expiresAt}; apply the manifest in the cluster, then follow it with flotilla describe cluster ${created.clusterId}`);
      print(created.manifest);
    });
  examples(cluster, ['flotilla register cluster edge-berlin | kubectl --context edge-berlin apply -f -', 'flotilla register cluster shop-7 -l team=shop --ttl-hours 4 > agent.yaml']);
  return register;
}
