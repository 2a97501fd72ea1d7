import { restorePoller, type AgentPool, type ContainerServiceClient, type ManagedCluster, type ManagedClusterAgentPoolProfileProperties } from '@azure/arm-containerservice';
import type { AzureAccount } from '../accounts.js';
import { CloudError, cloudFailureCode } from '../errors.js';
import {
  OWNERSHIP_TAG,
  type CloudClusterSpec,
  type CloudLifecycle,
  type CloudNodeGroupSpec,
  type CloudOperation,
  type CloudOperationStatus,
  type CloudPlace,
  type CloudTarget,
  type ObservedCloudCluster,
  type ObservedCloudNodeGroup,
} from '../lifecycle.js';
import { RequestBudgets } from '../request-budget.js';
import { ChangeTimes, SharedReads } from '../shared-reads.js';
import type { CloudSettings } from '../settings.js';
import { AksClients } from './aks-client.js';
import {
  AKS_NODE_GROUP_TAG,
  AKS_SYSTEM_POOL,
  aksAgentPoolName,
  aksLifecycleError,
  aksPoolSize,
  aksResourceState,
  aksScaleChange,
  aksTaint,
  minorOf,
  observedAksCluster,
  observedAksNodeGroup,
  offeredMinors,
} from './aks-mapping.js';
import { decodeAksOperation, encodeAksOperation, listedPool, statusFromListing, type AksOperationRef } from './aks-watch.js';

type AksPlace = Extract<CloudPlace, { provider: 'aks' }>;
type AksTarget = Extract<CloudTarget, { provider: 'aks' }>;

/** VM size and node count of the System pool AKS requires; the spec's node groups are User pools. */
const SYSTEM_POOL_VM_SIZE = 'Standard_D2s_v5';
const SYSTEM_POOL_COUNT = 1;

/**
 * Creates and runs AKS clusters through @azure/arm-containerservice.
 *
 * ARM has no client request token: its PUT is idempotent and names are deterministic, so a
 * repeated step looks first (GET) and creates with `If-None-Match: *`, which ARM refuses (412)
 * when something got there in between. The operation handed back is the Azure poller's
 * serialized state (`serialize()`), waited on after a restart with `restorePoller`.
 *
 * AKS cannot run a cluster without a System-mode agent pool (and refuses to delete the last one),
 * so System pools go with the control plane: Flotilla creates its cluster with one small System
 * pool of its own (`flotillasys`), every System pool (an adopted cluster's too) is upgraded in
 * the control plane's step and deleted with the cluster, and none is listed as a node group.
 * Node groups are User pools, named by `aksAgentPoolName` (AKS allows 1-12 lower-case
 * alphanumerics).
 *
 * Clusters are watched a resource group at a time: `findCluster`, `listNodeGroups` and
 * `operationStatus` read the group's managed-cluster list (each cluster with its agent pools and
 * their provisioning states), one call shared by every cluster of the account there for up to
 * `listMaxAgeMs` and never older than our last change to the cluster (`aks-watch.ts`).
 */
export class AksLifecycle implements CloudLifecycle<AzureAccount> {
  readonly provider = 'aks' as const;
  private readonly clients: AksClients;
  /** Each resource group's managed clusters, by account. */
  private readonly clusterLists: SharedReads<ManagedCluster[]>;
  private readonly changes = new ChangeTimes();

  constructor(settings: CloudSettings) {
    this.clients = new AksClients(settings, { cache: true, surfaceThrottling: true, budgets: new RequestBudgets(settings.requestRates.aks) });
    this.clusterLists = new SharedReads(settings.listMaxAgeMs);
  }

  /** The cluster as its resource group's shared list shows it (see the class comment); null when not there. */
  private async listed(account: AzureAccount, client: ContainerServiceClient, aks: AksTarget, signal: AbortSignal | undefined): Promise<ManagedCluster | null> {
    const key = `${account.tenantId}/${account.clientId}\n${aks.subscriptionId}\n${aks.resourceGroup.toLowerCase()}`;
    const { value } = await this.clusterLists.read(key, this.changes.notBefore(changeKey(aks)), async () => {
      const clusters: ManagedCluster[] = [];
      try {
        for await (const cluster of client.managedClusters.listByResourceGroup(aks.resourceGroup, { abortSignal: this.clients.signal(signal) })) clusters.push(cluster);
      } catch (error) {
        throw aksLifecycleError(error, `managed clusters of resource group "${aks.resourceGroup}"`);
      }
      return clusters;
    });
    return value.find((cluster) => cluster.name?.toLowerCase() === aks.clusterName.toLowerCase()) ?? null;
  }

  async offeredVersions(account: AzureAccount, place: CloudPlace, signal?: AbortSignal): Promise<string[]> {
    const aks = aksPlace(place);
    try {
      const result = await this.clients.client(account, aks.subscriptionId).managedClusters.listKubernetesVersions(aks.location, { abortSignal: this.clients.signal(signal) });
      return offeredMinors(result);
    } catch (error) {
      throw aksLifecycleError(error, `Kubernetes versions of ${aks.location}`);
    }
  }

  async findCluster(account: AzureAccount, target: CloudTarget, signal?: AbortSignal): Promise<ObservedCloudCluster | null> {
    const aks = aksTarget(target);
    const client = this.clients.client(account, aks.subscriptionId);
    const cluster = await this.listed(account, client, aks, signal);
    return cluster === null ? null : observedAksCluster(cluster);
  }

  async createCluster(account: AzureAccount, target: CloudTarget, spec: CloudClusterSpec, groups: readonly CloudNodeGroupSpec[], _requestToken: string, signal?: AbortSignal): Promise<CloudOperation> {
    const aks = aksTarget(target);
    const owner = ownerOf(spec);
    const networking = spec.networking.provider === 'aks' ? spec.networking : invalidNetworking(spec.networking.provider);
    const client = this.clients.client(account, aks.subscriptionId);
    const body: ManagedCluster = {
      location: aks.location,
      tags: spec.tags,
      identity: { type: 'SystemAssigned' },
      kubernetesVersion: spec.kubernetesVersion,
      dnsPrefix: dnsPrefixOf(aks.clusterName),
      enableRbac: true,
      agentPoolProfiles: [
        {
          name: AKS_SYSTEM_POOL,
          mode: 'System',
          type: 'VirtualMachineScaleSets',
          osType: 'Linux',
          vmSize: SYSTEM_POOL_VM_SIZE,
          count: SYSTEM_POOL_COUNT,
          orchestratorVersion: spec.kubernetesVersion,
          tags: { [OWNERSHIP_TAG]: owner },
          ...(networking.vnetSubnetId === undefined ? {} : { vnetSubnetID: networking.vnetSubnetId }),
        },
        // Ours come with it: one operation for the cluster and every pool.
        ...groups.map((group) => ({ name: aksAgentPoolName(group.name), type: 'VirtualMachineScaleSets' as const, ...userPool(group, spec) })),
      ],
      apiServerAccessProfile: { enablePrivateCluster: spec.endpointAccess === 'private' },
      ...(networking.vnetSubnetId === undefined ? {} : { networkProfile: { networkPlugin: 'azure' } }),
    };
    const what = `create of managed cluster "${describe(aks)}"`;
    const on = { aks, resource: 'cluster', action: 'put' } as const;
    for (let attempt = 0; ; attempt += 1) {
      // The group's list first; after a 412 (it appeared since that list), the cluster itself.
      const existing = attempt === 0 ? await this.listed(account, client, aks, signal) : await this.getCluster(client, aks, signal);
      if (existing !== null) {
        if (existing.tags?.[OWNERSHIP_TAG] !== owner) throw nameTaken(`managed cluster "${describe(aks)}"`, existing.tags?.[OWNERSHIP_TAG]);
        // Ours: a create already started (resumption). A failed one is put again, which is how AKS retries it.
        if (aksResourceState(existing.provisioningState) !== 'failed') return null;
        return this.started(() => client.managedClusters.createOrUpdate(aks.resourceGroup, aks.clusterName, body, { abortSignal: this.clients.signal(signal) }), what, on);
      }
      try {
        return await this.started(() => client.managedClusters.createOrUpdate(aks.resourceGroup, aks.clusterName, body, { ifNoneMatch: '*', abortSignal: this.clients.signal(signal) }), what, on);
      } catch (error) {
        if (!(error instanceof PreconditionFailed)) throw error;
        // Created by someone else between the look and the put: look again, once.
        if (attempt > 0) throw nameTaken(`managed cluster "${describe(aks)}"`, undefined);
      }
    }
  }

  async upgradeCluster(account: AzureAccount, target: CloudTarget, version: string, _requestToken: string, signal?: AbortSignal): Promise<CloudOperation> {
    const aks = aksTarget(target);
    const client = this.clients.client(account, aks.subscriptionId);
    const cluster = await this.getCluster(client, aks, signal);
    if (cluster === null) throw new CloudError('cloud-cluster-not-found', `AKS managed cluster "${describe(aks)}" does not exist`);
    const state = aksResourceState(cluster.provisioningState);
    // Asked for already: done or under way (a repeated step after a restart).
    if (minorOf(cluster.kubernetesVersion ?? '') === minorOf(version) && state !== 'failed') return null;
    // The control plane and the System pools together; User pools keep their version for their own step.
    const body: ManagedCluster = {
      ...cluster,
      kubernetesVersion: version,
      agentPoolProfiles: (cluster.agentPoolProfiles ?? []).map((pool) => (pool.mode === 'System' ? { ...pool, orchestratorVersion: version } : pool)),
    };
    return this.started(() => client.managedClusters.createOrUpdate(aks.resourceGroup, aks.clusterName, body, { abortSignal: this.clients.signal(signal) }), `upgrade of managed cluster "${describe(aks)}" to ${version}`, {
      aks,
      resource: 'cluster',
      action: 'put',
    });
  }

  async deleteCluster(account: AzureAccount, target: CloudTarget, signal?: AbortSignal): Promise<CloudOperation> {
    const aks = aksTarget(target);
    const client = this.clients.client(account, aks.subscriptionId);
    if (!(await this.mustBeFlotillas(client, aks, signal))) return null;
    try {
      return await this.started(() => client.managedClusters.delete(aks.resourceGroup, aks.clusterName, { abortSignal: this.clients.signal(signal) }), `delete of managed cluster "${describe(aks)}"`, {
        aks,
        resource: 'cluster',
        action: 'delete',
      });
    } catch (error) {
      if (error instanceof CloudError && error.code === 'cloud-cluster-not-found') return null;
      throw error;
    }
  }

  /**
   * Tags the managed cluster with `owner` (ARM's PATCH of its tags, the others kept), so it can be
   * deleted from then on. The tag is there as soon as ARM answers; AKS's update of the cluster for
   * it runs on, and a call meanwhile is refused as in progress, to be tried again.
   */
  async adoptCluster(account: AzureAccount, target: CloudTarget, owner: string, signal?: AbortSignal): Promise<void> {
    const aks = aksTarget(target);
    const client = this.clients.client(account, aks.subscriptionId);
    const cluster = await this.getCluster(client, aks, signal);
    if (cluster === null) throw new CloudError('cloud-cluster-not-found', `AKS managed cluster "${describe(aks)}" does not exist`);
    const tag = cluster.tags?.[OWNERSHIP_TAG];
    if (tag === owner) return;
    if (tag !== undefined && tag !== '') throw nameTaken(`managed cluster "${describe(aks)}"`, tag);
    const tags = { ...cluster.tags, [OWNERSHIP_TAG]: owner };
    await this.started(() => client.managedClusters.updateTags(aks.resourceGroup, aks.clusterName, { tags }, { abortSignal: this.clients.signal(signal) }), `tagging of managed cluster "${describe(aks)}"`, {
      aks,
      resource: 'cluster',
      action: 'put',
    });
  }

  async findNodeGroup(account: AzureAccount, target: CloudTarget, name: string, signal?: AbortSignal): Promise<ObservedCloudNodeGroup | null> {
    const aks = aksTarget(target);
    const pool = await this.getPool(this.clients.client(account, aks.subscriptionId), aks, aksAgentPoolName(name), signal);
    return pool === null || pool.mode === 'System' ? null : observedAksNodeGroup(pool);
  }

  async listNodeGroups(account: AzureAccount, target: CloudTarget, signal?: AbortSignal): Promise<ObservedCloudNodeGroup[]> {
    const aks = aksTarget(target);
    const cluster = await this.listed(account, this.clients.client(account, aks.subscriptionId), aks, signal);
    return (cluster?.agentPoolProfiles ?? []).filter((pool) => pool.mode !== 'System').map(observedAksNodeGroup);
  }

  async createNodeGroup(account: AzureAccount, target: CloudTarget, cluster: CloudClusterSpec, group: CloudNodeGroupSpec, _requestToken: string, signal?: AbortSignal): Promise<CloudOperation> {
    const aks = aksTarget(target);
    const owner = ownerOf(cluster);
    const poolName = aksAgentPoolName(group.name);
    const client = this.clients.client(account, aks.subscriptionId);
    const body: AgentPool = { typePropertiesType: 'VirtualMachineScaleSets', ...userPool(group, cluster) };
    const what = `create of agent pool "${poolName}" of "${describe(aks)}"`;
    const on = { aks, resource: 'pool', pool: poolName, action: 'put' } as const;
    for (let attempt = 0; ; attempt += 1) {
      // The group's list first; after a 412 (it appeared since that list), the pool itself.
      const existing = attempt === 0 ? listedPool(await this.listed(account, client, aks, signal), poolName) : await this.getPool(client, aks, poolName, signal);
      if (existing !== null) {
        if (existing.tags?.[OWNERSHIP_TAG] !== owner) throw nameTaken(`agent pool "${poolName}" of "${describe(aks)}"`, existing.tags?.[OWNERSHIP_TAG]);
        if (aksResourceState(existing.provisioningState) !== 'failed') return null;
        return this.started(() => client.agentPools.createOrUpdate(aks.resourceGroup, aks.clusterName, poolName, body, { abortSignal: this.clients.signal(signal) }), what, on);
      }
      try {
        return await this.started(() => client.agentPools.createOrUpdate(aks.resourceGroup, aks.clusterName, poolName, body, { ifNoneMatch: '*', abortSignal: this.clients.signal(signal) }), what, on);
      } catch (error) {
        if (!(error instanceof PreconditionFailed)) throw error;
        if (attempt > 0) throw nameTaken(`agent pool "${poolName}" of "${describe(aks)}"`, undefined);
      }
    }
  }

  async scaleNodeGroup(
    account: AzureAccount,
    target: CloudTarget,
    name: string,
    size: { minSize: number; maxSize: number; desiredSize: number },
    _requestToken: string,
    signal?: AbortSignal,
  ): Promise<CloudOperation> {
    const aks = aksTarget(target);
    const client = this.clients.client(account, aks.subscriptionId);
    const pool = await this.existingPool(client, aks, name, signal);
    const change = aksScaleChange(pool, size);
    if (change === null) return null;
    // A PUT is the whole pool: everything but the size is sent back as it is.
    const body: AgentPool = { ...pool, ...change };
    return this.started(() => client.agentPools.createOrUpdate(aks.resourceGroup, aks.clusterName, aksAgentPoolName(name), body, { abortSignal: this.clients.signal(signal) }), `scale of agent pool "${aksAgentPoolName(name)}" of "${describe(aks)}"`, {
      aks,
      resource: 'pool',
      pool: aksAgentPoolName(name),
      action: 'put',
    });
  }

  async upgradeNodeGroup(account: AzureAccount, target: CloudTarget, name: string, version: string, _requestToken: string, signal?: AbortSignal): Promise<CloudOperation> {
    const aks = aksTarget(target);
    const client = this.clients.client(account, aks.subscriptionId);
    const pool = await this.existingPool(client, aks, name, signal);
    if (minorOf(pool.orchestratorVersion ?? '') === minorOf(version) && aksResourceState(pool.provisioningState) !== 'failed') return null;
    const body: AgentPool = { ...pool, orchestratorVersion: version };
    return this.started(
      () => client.agentPools.createOrUpdate(aks.resourceGroup, aks.clusterName, aksAgentPoolName(name), body, { abortSignal: this.clients.signal(signal) }),
      `upgrade of agent pool "${aksAgentPoolName(name)}" of "${describe(aks)}" to ${version}`,
      { aks, resource: 'pool', pool: aksAgentPoolName(name), action: 'put' },
    );
  }

  async deleteNodeGroup(account: AzureAccount, target: CloudTarget, name: string, signal?: AbortSignal): Promise<CloudOperation> {
    const aks = aksTarget(target);
    const client = this.clients.client(account, aks.subscriptionId);
    const poolName = aksAgentPoolName(name);
    const pool = await this.getPool(client, aks, poolName, signal);
    if (pool === null) return null;
    // A pool without our tag (an adopted cluster's) is deleted only from a cluster that is ours.
    if ((pool.tags?.[OWNERSHIP_TAG] ?? '') === '') await this.mustBeFlotillas(client, aks, signal);
    try {
      return await this.started(() => client.agentPools.delete(aks.resourceGroup, aks.clusterName, poolName, { abortSignal: this.clients.signal(signal) }), `delete of agent pool "${poolName}" of "${describe(aks)}"`, {
        aks,
        resource: 'pool',
        pool: poolName,
        action: 'delete',
      });
    } catch (error) {
      if (error instanceof CloudError && error.code === 'cloud-cluster-not-found') return null;
      throw error;
    }
  }

  async operationStatus(account: AzureAccount, target: CloudTarget, operation: string, signal?: AbortSignal): Promise<CloudOperationStatus> {
    const aks = aksTarget(target);
    const client = this.clients.client(account, aks.subscriptionId);
    const ref = decodeAksOperation(operation);
    if ('resource' in ref) {
      // The resource group's list says whether the resource is still at it; the poller, how it failed.
      const listed = statusFromListing(ref, await this.listed(account, client, aks, signal));
      if (listed !== undefined) return listed;
    }
    let poller: ReturnType<typeof restorePoller<never, unknown>>;
    try {
      poller = restorePoller(client, ref.poller, client.managedClusters.createOrUpdate, { abortSignal: this.clients.signal(signal) });
    } catch {
      throw new CloudError('cloud-response-invalid', `AKS operation of "${describe(aks)}" is not a serialized Azure poller state`);
    }
    if (!poller.isDone) {
      try {
        await poller.poll();
      } catch (error) {
        // A failed operation also throws here; only a failed request to ARM is an error of this call.
        if (error instanceof CloudError) throw error;
        if (isRestError(error)) {
          if (error.statusCode === 404) return { done: true, failure: null };
          throw aksLifecycleError(error, `status of an operation on "${describe(aks)}"`);
        }
      }
    }
    const state = poller.operationState;
    switch (state?.status) {
      case 'succeeded':
        return { done: true, failure: null };
      case 'failed': {
        const failure = operationFailure(state.error);
        return { done: true, failure: failure.text, code: cloudFailureCode(failure.code, failure.text) };
      }
      case 'canceled':
        return { done: true, failure: `AKS canceled the operation on "${describe(aks)}"`, code: 'cloud-failed' };
      default:
        return { done: false };
    }
  }

  /**
   * Sends the first request of a long-running operation and returns what to wait on: the poller's
   * serialized state with what it changes (`on`), or null when ARM answered it done at once.
   * `start` is a function because an SDK poller is a thenable: handed around, it would be awaited
   * to the end. Reads of the cluster from then on must be newer than this change.
   */
  private async started(start: () => StartedPoller, what: string, on: { aks: AksTarget } & Omit<AksOperationRef, 'poller'>): Promise<CloudOperation> {
    const poller = start();
    try {
      await poller.submitted();
    } catch (error) {
      this.changes.changed(changeKey(on.aks));
      if (isRestError(error) && error.statusCode === 412) throw new PreconditionFailed();
      throw aksLifecycleError(error, what);
    }
    this.changes.changed(changeKey(on.aks));
    if (poller.operationState?.status === 'succeeded') return null;
    const { aks: _aks, ...ref } = on;
    return encodeAksOperation({ ...ref, poller: await poller.serialize() });
  }

  private async getCluster(client: ContainerServiceClient, aks: AksTarget, signal: AbortSignal | undefined): Promise<ManagedCluster | null> {
    try {
      return await client.managedClusters.get(aks.resourceGroup, aks.clusterName, { abortSignal: this.clients.signal(signal) });
    } catch (error) {
      if (isRestError(error) && error.statusCode === 404) return null;
      throw aksLifecycleError(error, `managed cluster "${describe(aks)}"`);
    }
  }

  /**
   * Only what carries the ownership tag (a cluster Flotilla made, or adopted) is ever deleted:
   * true when the cluster does, false when there is no cluster, `cloud-name-taken` otherwise.
   */
  private async mustBeFlotillas(client: ContainerServiceClient, aks: AksTarget, signal: AbortSignal | undefined): Promise<boolean> {
    const cluster = await this.getCluster(client, aks, signal);
    if (cluster === null) return false;
    if ((cluster.tags?.[OWNERSHIP_TAG] ?? '') !== '') return true;
    throw new CloudError('cloud-name-taken', `AKS managed cluster "${describe(aks)}" has no ${OWNERSHIP_TAG} tag: it is not Flotilla's and is left alone`);
  }

  private async getPool(client: ContainerServiceClient, aks: AksTarget, poolName: string, signal: AbortSignal | undefined): Promise<AgentPool | null> {
    try {
      return await client.agentPools.get(aks.resourceGroup, aks.clusterName, poolName, { abortSignal: this.clients.signal(signal) });
    } catch (error) {
      // 404 of the pool or of its cluster: either way there is no such pool.
      if (isRestError(error) && error.statusCode === 404) return null;
      throw aksLifecycleError(error, `agent pool "${poolName}" of "${describe(aks)}"`);
    }
  }

  private async existingPool(client: ContainerServiceClient, aks: AksTarget, name: string, signal: AbortSignal | undefined): Promise<AgentPool> {
    const pool = await this.getPool(client, aks, aksAgentPoolName(name), signal);
    if (pool === null) throw new CloudError('cloud-cluster-not-found', `AKS agent pool "${aksAgentPoolName(name)}" (node group "${name}") of "${describe(aks)}" does not exist`);
    return pool;
  }
}

/** What `started` uses of the SDK's PollerLike (@azure/core-lro, not a dependency of ours). */
interface StartedPoller {
  submitted(): Promise<void>;
  serialize(): Promise<string>;
  readonly operationState: { status: string } | undefined;
}

/** ARM answered 412 to a create with If-None-Match: the resource appeared since we looked. */
class PreconditionFailed extends Error {}

function isRestError(error: unknown): error is Error & { statusCode?: number } {
  return error instanceof Error && error.name === 'RestError';
}

function aksPlace(place: CloudPlace): AksPlace {
  if (place.provider !== 'aks') throw new CloudError('cloud-location-invalid', `the AKS lifecycle was given a ${place.provider} location`, 'provider');
  return place;
}

function aksTarget(target: CloudTarget): AksTarget {
  if (target.provider !== 'aks') throw new CloudError('cloud-location-invalid', `the AKS lifecycle was given a ${target.provider} cluster`, 'provider');
  return target;
}

function invalidNetworking(provider: string): never {
  throw new CloudError('cloud-location-invalid', `the AKS lifecycle was given ${provider} networking`, 'networking');
}

function ownerOf(spec: CloudClusterSpec): string {
  const owner = spec.tags[OWNERSHIP_TAG];
  if (owner === undefined || owner === '') throw new CloudError('cloud-location-invalid', `the cluster spec carries no ${OWNERSHIP_TAG} tag`, 'tags');
  return owner;
}

/** The cluster as `ChangeTimes` knows it. */
const changeKey = (aks: AksTarget) => `${aks.subscriptionId}/${aks.resourceGroup}/${aks.clusterName}`.toLowerCase();

function describe(aks: AksTarget): string {
  return `${aks.resourceGroup}/${aks.clusterName}`;
}

function nameTaken(what: string, owner: string | undefined): CloudError {
  return new CloudError('cloud-name-taken', `AKS ${what} exists ${owner === undefined ? `without the ${OWNERSHIP_TAG} tag` : `and belongs to Flotilla cluster ${owner}`}`);
}

/** AKS DNS prefixes: 1-54 alphanumerics and hyphens, starting and ending with an alphanumeric. */
function dnsPrefixOf(clusterName: string): string {
  const prefix = clusterName.replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 54).replace(/^-+|-+$/g, '');
  return prefix === '' ? 'flotilla' : prefix;
}

/** core-lro words a failed operation "The long-running operation has failed. <code>. <message>": the text, and ARM's code in it. */
function operationFailure(error: Error | undefined): { text: string; code: string | undefined } {
  const text = error?.message.replace(/^The long-running operation has failed\.?\s*/, '') ?? '';
  const code = /^([A-Za-z_]+)\.\s/.exec(text)?.[1];
  return { text: text === '' ? 'AKS reported the operation failed' : `AKS: ${text}`, code };
}

/** One of our node groups as an agent pool (mode User), in its cluster's create or its own; each adds its pool type, named differently. */
function userPool(group: CloudNodeGroupSpec, cluster: CloudClusterSpec): Omit<ManagedClusterAgentPoolProfileProperties, 'type'> {
  const poolName = aksAgentPoolName(group.name);
  return {
    mode: 'User',
    osType: 'Linux',
    vmSize: group.instanceType,
    ...aksPoolSize({ minSize: group.minSize, maxSize: group.maxSize, desiredSize: group.desiredSize }),
    orchestratorVersion: cluster.kubernetesVersion,
    nodeLabels: group.labels,
    nodeTaints: group.taints.map(aksTaint),
    // Azure allows 50 tags: the group's own name is only added when AKS got another one.
    tags: { ...cluster.tags, ...(poolName === group.name ? {} : { [AKS_NODE_GROUP_TAG]: group.name }) },
    ...(cluster.networking.provider === 'aks' && cluster.networking.vnetSubnetId !== undefined ? { vnetSubnetID: cluster.networking.vnetSubnetId } : {}),
  };
}
