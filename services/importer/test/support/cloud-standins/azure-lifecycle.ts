import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { StandinReply } from './https-standin.js';

/**
 * The state behind the AKS stand-in's lifecycle endpoints: managed clusters and agent pools that
 * ARM's PUT and DELETE create, change and remove through long-running operations, as AKS does.
 *
 * Every operation takes time (`durations`) and goes through AKS's own words: the resource's
 * provisioningState Creating/Updating/Upgrading/Scaling/Deleting -> Succeeded (or Failed), the
 * Azure-AsyncOperation status InProgress -> Succeeded/Failed. Time is read (from `clock`) on each
 * request, so the state is always that of now.
 *
 * It refuses what AKS refuses and a bit more, so that a skipped or misordered step fails a test:
 * an agent pool before its cluster has Succeeded, any change while another operation runs on the
 * cluster or pool (409 OperationNotAllowed), a version the location does not offer, a control
 * plane upgrade other than one minor up, a pool newer than its control plane, deleting the last
 * System pool, and (stricter than AKS, which takes them along) deleting a cluster that still has
 * User pools.
 */

export interface AzureDurations {
  clusterCreate: number;
  clusterUpdate: number;
  clusterUpgrade: number;
  clusterDelete: number;
  poolCreate: number;
  poolScale: number;
  poolUpgrade: number;
  poolDelete: number;
}

export type AzureAction = 'cluster-create' | 'cluster-update' | 'cluster-upgrade' | 'cluster-delete' | 'pool-create' | 'pool-scale' | 'pool-upgrade' | 'pool-delete';

export interface AzureLifecycleOptions {
  /** How long each operation takes, in ms. */
  durations: AzureDurations;
  /** `major.minor` versions offered per location (lower case); a location absent is not an AKS region. */
  versions: Record<string, string[]>;
  /** vCPUs a subscription may use in total (nodes x cores of their VM size); beyond it the create or scale is refused. */
  coreQuota: number;
}

export const DEFAULT_AZURE_DURATIONS: AzureDurations = {
  clusterCreate: 300,
  clusterUpdate: 100,
  clusterUpgrade: 200,
  clusterDelete: 200,
  poolCreate: 200,
  poolScale: 100,
  poolUpgrade: 200,
  poolDelete: 150,
};

/** The patch every offered minor has in the stand-in (AKS picks the newest patch of a minor). */
const PATCH = 4;
const POOL_NAME = /^[a-z][a-z0-9]{0,11}$/;

interface Failure {
  code: string;
  message: string;
}

interface Operation {
  id: string;
  subscriptionId: string;
  location: string;
  action: AzureAction;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  startTime: number;
  /** When it ends, failed or not. */
  endsAt: number;
  endTime?: number;
  /** Set: it fails (half-way) with this. */
  failure?: Failure;
  succeed: () => void;
  fail: (failure: Failure) => void;
}

export interface StandinPool {
  name: string;
  mode: 'System' | 'User';
  vmSize: string;
  count: number;
  enableAutoScaling: boolean;
  minCount?: number;
  maxCount?: number;
  /** Asked for (major.minor) and running (patch). */
  orchestratorVersion: string;
  currentOrchestratorVersion: string;
  nodeLabels: Record<string, string>;
  nodeTaints: string[];
  tags: Record<string, string>;
  vnetSubnetID?: string;
  provisioningState: string;
  provisioningError?: Failure;
  operation?: Operation;
}

export interface StandinManagedCluster {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  dnsPrefix: string;
  privateCluster: boolean;
  networkPlugin: string;
  kubernetesVersion: string;
  currentKubernetesVersion: string;
  provisioningState: string;
  provisioningError?: Failure;
  pools: Map<string, StandinPool>;
  operation?: Operation;
  /** What listClusterUserCredential answers. */
  kubeconfig: string;
}

type Json = Record<string, unknown>;

const armError = (status: number, code: string, message: string, headers?: Record<string, string>): StandinReply => ({ status, json: { error: { code, message } }, ...(headers ? { headers } : {}) });
const minorOf = (version: string): string => /^(\d+\.\d+)/.exec(version)?.[1] ?? version;
const minorNumber = (version: string): number => Number(minorOf(version).split('.')[1] ?? NaN);
const key = (...parts: string[]): string => parts.map((part) => part.toLowerCase()).join('/');
/** vCPUs of an Azure VM size (`Standard_D4s_v5` -> 4). */
const coresOf = (vmSize: string): number => Number(/^Standard_[A-Za-z]+(\d+)/.exec(vmSize)?.[1] ?? 2);

export class AzureLifecycleModel {
  readonly clusters = new Map<string, StandinManagedCluster>();
  readonly operations = new Map<string, Operation>();
  /** Creates per resource (`rg/cluster`, `rg/cluster/pool`, lower case), however many times it was put. */
  readonly creates = new Map<string, number>();
  /** Operations still InProgress (the map keeps every one, for its status). */
  private readonly running = new Set<Operation>();
  private readonly failures: { action: AzureAction; name?: string; failure: Failure; halfway: boolean }[] = [];

  constructor(
    readonly options: AzureLifecycleOptions,
    /** The stand-in's URL (operation URLs point at it). */
    private readonly baseUrl: () => string,
    private readonly kubeconfigFor: (cluster: { name: string; resourceGroup: string; server: string }) => string,
    /** Milliseconds now: the wall clock, or a test's own to step through operations without racing them. */
    private readonly clock: () => number = Date.now,
  ) {}

  /** The next operation of that kind (and resource name) fails: half-way through with AKS's Failed status, or `halfway: false` at once in the request. */
  failNext(action: AzureAction, failure: Failure, options: { name?: string; halfway?: boolean } = {}): void {
    this.failures.push({ action, ...(options.name === undefined ? {} : { name: options.name }), failure, halfway: options.halfway ?? true });
  }

  /** Creates that made a resource that had been made before (a name created, deleted and created again counts too). */
  duplicateCreates(): number {
    return [...this.creates.values()].reduce((sum, count) => sum + Math.max(0, count - 1), 0);
  }

  find(subscriptionId: string, resourceGroup: string, name: string): StandinManagedCluster | undefined {
    const cluster = this.clusters.get(key(resourceGroup, name));
    return cluster?.subscriptionId === subscriptionId ? cluster : undefined;
  }

  /** Ends the operations whose time has come, in the order they end. */
  tick(now = this.clock()): void {
    const due = [...this.running].filter((operation) => operation.endsAt <= now).sort((a, b) => a.endsAt - b.endsAt);
    for (const operation of due) {
      this.running.delete(operation);
      operation.endTime = operation.endsAt;
      if (operation.failure) {
        operation.status = 'Failed';
        operation.fail(operation.failure);
      } else {
        operation.status = 'Succeeded';
        operation.succeed();
      }
    }
  }

  kubernetesVersions(location: string): StandinReply {
    const offered = this.options.versions[location.toLowerCase()];
    if (offered === undefined) return armError(404, 'LocationNotAvailableForResourceType', `The provided location '${location}' is not available for resource type 'Microsoft.ContainerService/locations/kubernetesVersions'.`);
    const sorted = [...offered].sort((a, b) => minorNumber(a) - minorNumber(b));
    return {
      status: 200,
      json: {
        values: sorted.map((minor, index) => ({
          version: minor,
          capabilities: { supportPlan: ['KubernetesOfficial', 'AKSLongTermSupport'] },
          isDefault: index === sorted.length - 2 || sorted.length === 1 ? true : undefined,
          patchVersions: { [`${minor}.${PATCH}`]: { upgrades: sorted[index + 1] === undefined ? [] : [`${sorted[index + 1]}.${PATCH}`] } },
        })),
      },
    };
  }

  operationStatus(subscriptionId: string, id: string): StandinReply {
    const operation = this.operations.get(id);
    if (operation?.subscriptionId !== subscriptionId) return armError(404, 'NotFound', `Operation ${id} not found.`);
    return {
      status: 200,
      json: {
        id: `/subscriptions/${subscriptionId}/providers/Microsoft.ContainerService/locations/${operation.location}/operations/${id}`,
        name: id,
        status: operation.status,
        startTime: new Date(operation.startTime).toISOString(),
        ...(operation.endTime === undefined ? {} : { endTime: new Date(operation.endTime).toISOString() }),
        ...(operation.status === 'Failed' && operation.failure ? { error: { code: operation.failure.code, message: operation.failure.message } } : {}),
      },
    };
  }

  /** The Location header's resource: 202 while running, 204 once done well, the failure once failed. */
  operationResult(subscriptionId: string, id: string): StandinReply {
    const operation = this.operations.get(id);
    if (operation?.subscriptionId !== subscriptionId) return armError(404, 'NotFound', `Operation ${id} not found.`);
    if (operation.status === 'InProgress') return { status: 202, text: '', headers: this.operationHeaders(operation) };
    if (operation.status === 'Failed') return armError(400, operation.failure?.code ?? 'Failed', operation.failure?.message ?? 'The operation failed.');
    return { status: 204, text: '' };
  }

  /** The body with its eTag, which changes with anything in it, as ARM's does with any update. */
  clusterBody(cluster: StandinManagedCluster): Json {
    const body = this.clusterBodyWithoutETag(cluster);
    return { ...body, eTag: createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 32) };
  }

  private clusterBodyWithoutETag(cluster: StandinManagedCluster): Json {
    const id = `/subscriptions/${cluster.subscriptionId}/resourcegroups/${cluster.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${cluster.name}`;
    const host = `${cluster.dnsPrefix}-a1b2c3d4.${cluster.privateCluster ? 'privatelink.' : 'hcp.'}${cluster.location}.azmk8s.io`;
    return {
      id,
      location: cluster.location,
      name: cluster.name,
      type: 'Microsoft.ContainerService/ManagedClusters',
      tags: cluster.tags,
      sku: { name: 'Base', tier: 'Free' },
      identity: { type: 'SystemAssigned', principalId: '00000000-0000-0000-0000-00000000a1b2', tenantId: '00000000-0000-0000-0000-0000000000aa' },
      properties: {
        provisioningState: cluster.provisioningState,
        ...(cluster.provisioningError ? { status: { provisioningError: cluster.provisioningError } } : {}),
        powerState: { code: 'Running' },
        kubernetesVersion: cluster.kubernetesVersion,
        currentKubernetesVersion: cluster.currentKubernetesVersion,
        dnsPrefix: cluster.dnsPrefix,
        ...(cluster.privateCluster ? { privateFQDN: host } : { fqdn: host }),
        agentPoolProfiles: [...cluster.pools.values()].map((pool) => ({ name: pool.name, ...this.poolProperties(pool) })),
        apiServerAccessProfile: { enablePrivateCluster: cluster.privateCluster },
        nodeResourceGroup: `MC_${cluster.resourceGroup}_${cluster.name}_${cluster.location}`,
        enableRBAC: true,
        supportPlan: 'KubernetesOfficial',
        networkProfile: { networkPlugin: cluster.networkPlugin, serviceCidr: '10.0.0.0/16', dnsServiceIP: '10.0.0.10', outboundType: 'loadBalancer', loadBalancerSku: 'Standard' },
        maxAgentPools: 100,
      },
    };
  }

  poolBody(cluster: StandinManagedCluster, pool: StandinPool): Json {
    return {
      id: `/subscriptions/${cluster.subscriptionId}/resourcegroups/${cluster.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${cluster.name}/agentPools/${pool.name}`,
      name: pool.name,
      type: 'Microsoft.ContainerService/managedClusters/agentPools',
      properties: this.poolProperties(pool),
    };
  }

  putCluster(subscriptionId: string, resourceGroup: string, name: string, headers: { ifNoneMatch?: string }, body: Json): StandinReply {
    const existing = this.find(subscriptionId, resourceGroup, name);
    if (existing && headers.ifNoneMatch === '*') return armError(412, 'PreconditionFailed', `The managed cluster '${name}' already exists and If-None-Match: * was given.`);
    const properties = (body.properties ?? {}) as Json;
    const version = typeof properties.kubernetesVersion === 'string' ? properties.kubernetesVersion : undefined;
    const profiles = Array.isArray(properties.agentPoolProfiles) ? (properties.agentPoolProfiles as Json[]) : [];
    const tags = (body.tags ?? {}) as Record<string, string>;
    if (existing) return this.updateCluster(existing, version, profiles, tags);

    const location = typeof body.location === 'string' ? body.location.toLowerCase() : '';
    const offered = this.options.versions[location];
    if (offered === undefined) return armError(400, 'LocationNotAvailableForResourceType', `The provided location '${location}' is not available for resource type 'Microsoft.ContainerService/managedClusters'.`);
    if (version === undefined) return armError(400, 'InvalidParameter', 'Required parameter kubernetesVersion is missing.');
    if (!offered.includes(minorOf(version))) return notSupported(version);
    if (!profiles.some((profile) => profile.mode === 'System')) return armError(400, 'InvalidParameter', 'A managed cluster needs at least one agent pool with mode System.');
    const pools = new Map<string, StandinPool>();
    for (const profile of profiles) {
      const pool = this.newPool(profile, version);
      if ('status' in pool) return pool;
      if (minorNumber(pool.orchestratorVersion) > minorNumber(version)) return mcIncompatible(pool.orchestratorVersion, version);
      pools.set(pool.name, pool);
    }
    const quota = this.checkQuota(subscriptionId, location, [...pools.values()].reduce((sum, pool) => sum + pool.count * coresOf(pool.vmSize), 0));
    if (quota) return quota;
    const failure = this.takeFailure('cluster-create', name);
    if (failure && !failure.halfway) return armError(400, failure.failure.code, failure.failure.message);
    const dnsPrefix = typeof properties.dnsPrefix === 'string' ? properties.dnsPrefix : name;
    const apiAccess = (properties.apiServerAccessProfile ?? {}) as Json;
    const network = (properties.networkProfile ?? {}) as Json;
    const cluster: StandinManagedCluster = {
      subscriptionId,
      resourceGroup,
      name,
      location,
      tags,
      dnsPrefix,
      privateCluster: apiAccess.enablePrivateCluster === true,
      networkPlugin: typeof network.networkPlugin === 'string' ? network.networkPlugin : 'kubenet',
      kubernetesVersion: version,
      currentKubernetesVersion: `${minorOf(version)}.${PATCH}`,
      provisioningState: 'Creating',
      pools,
      kubeconfig: '',
    };
    cluster.kubeconfig = this.kubeconfigFor({ name, resourceGroup, server: `https://${dnsPrefix}-a1b2c3d4.${cluster.privateCluster ? 'privatelink.' : 'hcp.'}${location}.azmk8s.io:443` });
    for (const pool of pools.values()) pool.provisioningState = 'Creating';
    this.clusters.set(key(resourceGroup, name), cluster);
    this.count(key(resourceGroup, name));
    for (const pool of pools.values()) this.count(key(resourceGroup, name, pool.name));
    const operation = this.start(cluster, 'cluster-create', this.options.durations.clusterCreate, failure?.failure, {
      succeed: () => {
        cluster.provisioningState = 'Succeeded';
        for (const pool of cluster.pools.values()) pool.provisioningState = 'Succeeded';
      },
      fail: (error) => {
        cluster.provisioningState = 'Failed';
        cluster.provisioningError = error;
        for (const pool of cluster.pools.values()) pool.provisioningState = 'Failed';
      },
    });
    cluster.operation = operation;
    return { status: 201, json: this.clusterBody(cluster), headers: this.operationHeaders(operation) };
  }

  /** PATCH of a managed cluster (updateTags): its tags replaced, an update AKS runs like any other. */
  patchTags(cluster: StandinManagedCluster, body: Json): StandinReply {
    if (cluster.operation?.status === 'InProgress') return inProgress(cluster.operation);
    const tags = body.tags;
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags) || Object.values(tags).some((value) => typeof value !== 'string')) {
      return armError(400, 'InvalidParameter', 'The tags of a managed cluster map names to string values.');
    }
    cluster.tags = tags as Record<string, string>;
    cluster.provisioningState = 'Updating';
    cluster.operation = this.start(cluster, 'cluster-update', this.options.durations.clusterUpdate, undefined, {
      succeed: () => {
        cluster.provisioningState = 'Succeeded';
      },
      fail: (error) => {
        cluster.provisioningState = 'Failed';
        cluster.provisioningError = error;
      },
    });
    return { status: 200, json: this.clusterBody(cluster), headers: this.operationHeaders(cluster.operation) };
  }

  deleteCluster(subscriptionId: string, resourceGroup: string, name: string): StandinReply {
    const cluster = this.find(subscriptionId, resourceGroup, name);
    if (!cluster) return { status: 204, text: '' };
    if (cluster.operation?.status === 'InProgress') {
      if (cluster.operation.action === 'cluster-delete') return { status: 202, text: '', headers: this.operationHeaders(cluster.operation) };
      return inProgress(cluster.operation);
    }
    const busy = [...cluster.pools.values()].find((pool) => pool.operation?.status === 'InProgress');
    if (busy?.operation) return inProgress(busy.operation);
    const userPools = [...cluster.pools.values()].filter((pool) => pool.mode === 'User').map((pool) => pool.name);
    if (userPools.length > 0) return armError(409, 'OperationNotAllowed', `Managed cluster '${name}' still has User agent pools (${userPools.join(', ')}): delete them first.`);
    const failure = this.takeFailure('cluster-delete', name);
    if (failure && !failure.halfway) return armError(400, failure.failure.code, failure.failure.message);
    cluster.provisioningState = 'Deleting';
    for (const pool of cluster.pools.values()) pool.provisioningState = 'Deleting';
    const operation = this.start(cluster, 'cluster-delete', this.options.durations.clusterDelete, failure?.failure, {
      succeed: () => {
        this.clusters.delete(key(resourceGroup, name));
      },
      fail: (error) => {
        cluster.provisioningState = 'Failed';
        cluster.provisioningError = error;
      },
    });
    cluster.operation = operation;
    return { status: 202, text: '', headers: this.operationHeaders(operation) };
  }

  putPool(cluster: StandinManagedCluster, poolName: string, headers: { ifNoneMatch?: string }, body: Json): StandinReply {
    const existing = cluster.pools.get(poolName);
    if (existing && headers.ifNoneMatch === '*') return armError(412, 'PreconditionFailed', `The agent pool '${poolName}' already exists and If-None-Match: * was given.`);
    if (cluster.operation?.status === 'InProgress') return inProgress(cluster.operation);
    if (cluster.provisioningState !== 'Succeeded') return armError(409, 'OperationNotAllowed', `Managed cluster '${cluster.name}' is in provisioning state ${cluster.provisioningState}: agent pools cannot be changed.`);
    const properties = { ...((body.properties ?? {}) as Json), name: poolName };
    if (existing) return this.updatePool(cluster, existing, properties);

    const pool = this.newPool(properties, cluster.kubernetesVersion);
    if ('status' in pool) return pool;
    if (minorNumber(pool.orchestratorVersion) > minorNumber(cluster.currentKubernetesVersion)) return mcIncompatible(pool.orchestratorVersion, cluster.currentKubernetesVersion);
    if (!this.offered(cluster.location, pool.orchestratorVersion)) return notSupported(pool.orchestratorVersion);
    const quota = this.checkQuota(cluster.subscriptionId, cluster.location, pool.count * coresOf(pool.vmSize));
    if (quota) return quota;
    const failure = this.takeFailure('pool-create', poolName);
    if (failure && !failure.halfway) return armError(400, failure.failure.code, failure.failure.message);
    pool.provisioningState = 'Creating';
    cluster.pools.set(poolName, pool);
    this.count(key(cluster.resourceGroup, cluster.name, poolName));
    pool.operation = this.start(cluster, 'pool-create', this.options.durations.poolCreate, failure?.failure, {
      succeed: () => {
        pool.provisioningState = 'Succeeded';
      },
      fail: (error) => {
        pool.provisioningState = 'Failed';
        pool.provisioningError = error;
      },
    });
    return { status: 201, json: this.poolBody(cluster, pool), headers: this.operationHeaders(pool.operation) };
  }

  deletePool(cluster: StandinManagedCluster, poolName: string): StandinReply {
    const pool = cluster.pools.get(poolName);
    if (!pool) return { status: 204, text: '' };
    if (pool.operation?.status === 'InProgress') {
      if (pool.operation.action === 'pool-delete') return { status: 202, text: '', headers: this.operationHeaders(pool.operation) };
      return inProgress(pool.operation);
    }
    if (cluster.operation?.status === 'InProgress') return inProgress(cluster.operation);
    if (pool.mode === 'System' && ![...cluster.pools.values()].some((other) => other !== pool && other.mode === 'System')) {
      return armError(400, 'OperationNotAllowed', `Agent pool '${poolName}' is the last System pool of managed cluster '${cluster.name}' and cannot be deleted.`);
    }
    const failure = this.takeFailure('pool-delete', poolName);
    if (failure && !failure.halfway) return armError(400, failure.failure.code, failure.failure.message);
    pool.provisioningState = 'Deleting';
    pool.operation = this.start(cluster, 'pool-delete', this.options.durations.poolDelete, failure?.failure, {
      succeed: () => {
        cluster.pools.delete(poolName);
      },
      fail: (error) => {
        pool.provisioningState = 'Failed';
        pool.provisioningError = error;
      },
    });
    return { status: 202, text: '', headers: this.operationHeaders(pool.operation) };
  }

  private updateCluster(cluster: StandinManagedCluster, version: string | undefined, profiles: Json[], tags: Record<string, string>): StandinReply {
    if (cluster.operation?.status === 'InProgress') return inProgress(cluster.operation);
    const busy = [...cluster.pools.values()].find((pool) => pool.operation?.status === 'InProgress');
    if (busy?.operation) return inProgress(busy.operation);
    const target = version ?? cluster.kubernetesVersion;
    const upgrading = minorOf(target) !== minorOf(cluster.currentKubernetesVersion);
    if (upgrading) {
      if (!this.offered(cluster.location, target)) return notSupported(target);
      if (minorNumber(target) !== minorNumber(cluster.currentKubernetesVersion) + 1) {
        return armError(400, 'UpgradeNotAllowed', `Upgrading Kubernetes version ${cluster.currentKubernetesVersion} to ${target} is not allowed. Available upgrades: ${minorOf(cluster.currentKubernetesVersion).replace(/\d+$/, (minor) => String(Number(minor) + 1))}. Minor versions cannot be skipped.`);
      }
    }
    // Pools listed with another version are upgraded with the control plane; pools left out keep theirs.
    const poolVersions = new Map<StandinPool, string>();
    for (const profile of profiles) {
      const pool = typeof profile.name === 'string' ? cluster.pools.get(profile.name) : undefined;
      if (!pool) return armError(400, 'InvalidParameter', `Agent pool '${String(profile.name)}' does not exist: new agent pools are added through the agentPools API.`);
      const wanted = typeof profile.orchestratorVersion === 'string' ? profile.orchestratorVersion : pool.orchestratorVersion;
      if (minorNumber(wanted) > minorNumber(target)) return mcIncompatible(wanted, target);
      if (minorOf(wanted) !== minorOf(pool.currentOrchestratorVersion)) poolVersions.set(pool, wanted);
    }
    const failure = this.takeFailure(upgrading ? 'cluster-upgrade' : 'cluster-update', cluster.name);
    if (failure && !failure.halfway) return armError(400, failure.failure.code, failure.failure.message);
    cluster.tags = tags;
    cluster.kubernetesVersion = target;
    cluster.provisioningState = upgrading ? 'Upgrading' : 'Updating';
    cluster.provisioningError = undefined;
    for (const [pool, wanted] of poolVersions) {
      pool.orchestratorVersion = wanted;
      pool.provisioningState = 'Upgrading';
    }
    cluster.operation = this.start(cluster, upgrading ? 'cluster-upgrade' : 'cluster-update', upgrading ? this.options.durations.clusterUpgrade : this.options.durations.clusterUpdate, failure?.failure, {
      succeed: () => {
        cluster.provisioningState = 'Succeeded';
        cluster.currentKubernetesVersion = `${minorOf(target)}.${PATCH}`;
        for (const [pool, wanted] of poolVersions) {
          pool.currentOrchestratorVersion = `${minorOf(wanted)}.${PATCH}`;
          pool.provisioningState = 'Succeeded';
        }
        // A reconcile also brings back pools a failed operation left Failed.
        for (const pool of cluster.pools.values()) if (pool.provisioningState === 'Failed' && pool.operation?.status !== 'InProgress') pool.provisioningState = 'Succeeded';
      },
      fail: (error) => {
        cluster.provisioningState = 'Failed';
        cluster.provisioningError = error;
        for (const pool of poolVersions.keys()) pool.provisioningState = 'Failed';
      },
    });
    return { status: 200, json: this.clusterBody(cluster), headers: this.operationHeaders(cluster.operation) };
  }

  private updatePool(cluster: StandinManagedCluster, pool: StandinPool, properties: Json): StandinReply {
    if (pool.operation?.status === 'InProgress') return inProgress(pool.operation);
    const wanted = this.newPool({ ...this.poolProperties(pool), name: pool.name, ...properties }, pool.orchestratorVersion);
    if ('status' in wanted) return wanted;
    const upgrading = minorOf(wanted.orchestratorVersion) !== minorOf(pool.currentOrchestratorVersion);
    const scaling = wanted.count !== pool.count || wanted.enableAutoScaling !== pool.enableAutoScaling || wanted.minCount !== pool.minCount || wanted.maxCount !== pool.maxCount;
    if (upgrading) {
      if (minorNumber(wanted.orchestratorVersion) > minorNumber(cluster.currentKubernetesVersion)) return mcIncompatible(wanted.orchestratorVersion, cluster.currentKubernetesVersion);
      if (!this.offered(cluster.location, wanted.orchestratorVersion)) return notSupported(wanted.orchestratorVersion);
      if (scaling) return armError(400, 'OperationNotAllowed', `Agent pool '${pool.name}' cannot be upgraded and scaled in one operation.`);
    }
    if (wanted.vmSize !== pool.vmSize) return armError(400, 'PropertyChangeNotAllowed', `Changing property 'vmSize' is not allowed.`);
    // The cluster autoscaler owns the count of a pool it runs on: AKS takes no manual count with it, nor with turning it on.
    if (wanted.enableAutoScaling && wanted.count !== pool.count) {
      return armError(
        400,
        'BadRequest',
        pool.enableAutoScaling
          ? `Cannot manually scale agent pool '${pool.name}' while its cluster autoscaler is enabled: disable the autoscaler to set a count.`
          : `Cannot manually scale and enable cluster autoscaler in the same update operation on VMSS Agentpool '${pool.name}'.`,
      );
    }
    if (wanted.count > pool.count) {
      const quota = this.checkQuota(cluster.subscriptionId, cluster.location, (wanted.count - pool.count) * coresOf(pool.vmSize));
      if (quota) return quota;
    }
    const action: AzureAction = upgrading ? 'pool-upgrade' : 'pool-scale';
    const failure = this.takeFailure(action, pool.name);
    if (failure && !failure.halfway) return armError(400, failure.failure.code, failure.failure.message);
    const before = { count: pool.count, enableAutoScaling: pool.enableAutoScaling, minCount: pool.minCount, maxCount: pool.maxCount };
    Object.assign(pool, { count: wanted.count, enableAutoScaling: wanted.enableAutoScaling, minCount: wanted.minCount, maxCount: wanted.maxCount, orchestratorVersion: wanted.orchestratorVersion, nodeLabels: wanted.nodeLabels, nodeTaints: wanted.nodeTaints, tags: wanted.tags });
    pool.provisioningState = upgrading ? 'Upgrading' : scaling ? 'Scaling' : 'Updating';
    pool.provisioningError = undefined;
    pool.operation = this.start(cluster, action, upgrading ? this.options.durations.poolUpgrade : this.options.durations.poolScale, failure?.failure, {
      succeed: () => {
        pool.provisioningState = 'Succeeded';
        pool.currentOrchestratorVersion = `${minorOf(pool.orchestratorVersion)}.${PATCH}`;
      },
      fail: (error) => {
        pool.provisioningState = 'Failed';
        pool.provisioningError = error;
        if (!upgrading) Object.assign(pool, before);
      },
    });
    return { status: 200, json: this.poolBody(cluster, pool), headers: this.operationHeaders(pool.operation) };
  }

  /** A pool from an agentPoolProfile or agent pool body, or the 400 ARM answers to it. */
  private newPool(properties: Json, clusterVersion: string): StandinPool | StandinReply {
    const name = typeof properties.name === 'string' ? properties.name : '';
    if (!POOL_NAME.test(name)) return armError(400, 'InvalidParameter', `The agent pool name '${name}' is invalid: it must start with a lowercase letter and hold at most 12 lowercase letters and digits.`);
    const vmSize = typeof properties.vmSize === 'string' ? properties.vmSize : '';
    if (vmSize === '') return armError(400, 'InvalidParameter', `Required parameter vmSize of agent pool '${name}' is missing.`);
    const count = typeof properties.count === 'number' ? properties.count : 1;
    const enableAutoScaling = properties.enableAutoScaling === true;
    const minCount = typeof properties.minCount === 'number' ? properties.minCount : undefined;
    const maxCount = typeof properties.maxCount === 'number' ? properties.maxCount : undefined;
    const mode = properties.mode === 'System' ? 'System' : 'User';
    if (!Number.isInteger(count) || count < (mode === 'System' ? 1 : 0) || count > 1000) return armError(400, 'InvalidParameter', `The count of agent pool '${name}' must be between ${mode === 'System' ? 1 : 0} and 1000.`);
    if (enableAutoScaling && (minCount === undefined || maxCount === undefined || minCount > maxCount || count < minCount || count > maxCount)) {
      return armError(400, 'InvalidParameter', `Agent pool '${name}' with autoscaling needs minCount <= count <= maxCount.`);
    }
    const orchestratorVersion = typeof properties.orchestratorVersion === 'string' ? properties.orchestratorVersion : clusterVersion;
    return {
      name,
      mode,
      vmSize,
      count,
      enableAutoScaling,
      ...(enableAutoScaling ? { minCount, maxCount } : {}),
      orchestratorVersion,
      currentOrchestratorVersion: `${minorOf(orchestratorVersion)}.${PATCH}`,
      nodeLabels: (properties.nodeLabels ?? {}) as Record<string, string>,
      nodeTaints: Array.isArray(properties.nodeTaints) ? (properties.nodeTaints as string[]) : [],
      tags: (properties.tags ?? {}) as Record<string, string>,
      ...(typeof properties.vnetSubnetID === 'string' ? { vnetSubnetID: properties.vnetSubnetID } : {}),
      provisioningState: 'Succeeded',
    };
  }

  private poolProperties(pool: StandinPool): Json {
    return {
      count: pool.count,
      vmSize: pool.vmSize,
      osDiskSizeGB: 128,
      osDiskType: 'Managed',
      maxPods: 110,
      type: 'VirtualMachineScaleSets',
      enableAutoScaling: pool.enableAutoScaling,
      ...(pool.enableAutoScaling ? { minCount: pool.minCount, maxCount: pool.maxCount } : {}),
      provisioningState: pool.provisioningState,
      ...(pool.provisioningError ? { status: { provisioningError: pool.provisioningError } } : {}),
      powerState: { code: 'Running' },
      orchestratorVersion: pool.orchestratorVersion,
      currentOrchestratorVersion: pool.currentOrchestratorVersion,
      mode: pool.mode,
      osType: 'Linux',
      osSKU: 'Ubuntu',
      nodeImageVersion: 'AKSUbuntu-2204gen2containerd-202410.15.0',
      nodeLabels: pool.nodeLabels,
      nodeTaints: pool.nodeTaints,
      tags: pool.tags,
      ...(pool.vnetSubnetID === undefined ? {} : { vnetSubnetID: pool.vnetSubnetID }),
    };
  }

  private offered(location: string, version: string): boolean {
    return this.options.versions[location]?.includes(minorOf(version)) ?? false;
  }

  private checkQuota(subscriptionId: string, location: string, moreCores: number): StandinReply | undefined {
    let used = 0;
    for (const cluster of this.clusters.values()) {
      if (cluster.subscriptionId !== subscriptionId || cluster.location !== location) continue;
      for (const pool of cluster.pools.values()) used += pool.count * coresOf(pool.vmSize);
    }
    if (used + moreCores <= this.options.coreQuota) return undefined;
    return armError(
      400,
      'ErrCode_InsufficientVCPUQuota',
      `Insufficient regional vcpu quota left for location ${location}. left regional vcpu quota ${Math.max(0, this.options.coreQuota - used)}, requested quota ${moreCores}. Please refer to https://aka.ms/aks/quotaerror.`,
    );
  }

  private takeFailure(action: AzureAction, name: string): { failure: Failure; halfway: boolean } | undefined {
    const index = this.failures.findIndex((failure) => failure.action === action && (failure.name === undefined || failure.name === name));
    if (index < 0) return undefined;
    const [taken] = this.failures.splice(index, 1);
    return taken;
  }

  private start(cluster: StandinManagedCluster, action: AzureAction, duration: number, failure: Failure | undefined, effects: { succeed: () => void; fail: (failure: Failure) => void }): Operation {
    const now = this.clock();
    const operation: Operation = {
      id: randomUUID(),
      subscriptionId: cluster.subscriptionId,
      location: cluster.location,
      action,
      status: 'InProgress',
      startTime: now,
      // A failure strikes half-way through.
      endsAt: now + (failure ? Math.floor(duration / 2) : duration),
      ...(failure ? { failure } : {}),
      ...effects,
    };
    this.operations.set(operation.id, operation);
    this.running.add(operation);
    return operation;
  }

  private operationHeaders(operation: Operation): Record<string, string> {
    const base = `${this.baseUrl()}/subscriptions/${operation.subscriptionId}/providers/Microsoft.ContainerService/locations/${operation.location}`;
    return {
      'azure-asyncoperation': `${base}/operations/${operation.id}?api-version=2025-10-01`,
      location: `${base}/operationresults/${operation.id}?api-version=2025-10-01`,
      'x-ms-request-id': randomBytes(16).toString('hex'),
    };
  }

  private count(resource: string): void {
    this.creates.set(resource, (this.creates.get(resource) ?? 0) + 1);
  }
}

function inProgress(operation: Operation): StandinReply {
  const what = operation.action.replace('-', ' ').replace(/^pool/, 'agent pool').replace(/^cluster/, 'managed cluster');
  return armError(409, 'OperationNotAllowed', `Operation is not allowed because there's an in progress ${what} operation (${operation.id}). Please wait for it to finish before starting a new operation.`);
}

function notSupported(version: string): StandinReply {
  return armError(400, 'AgentPoolK8sVersionNotSupported', `Version ${version} is not supported in this region. Please use [az aks get-versions] command to get the supported version list in this region.`);
}

function mcIncompatible(poolVersion: string, controlPlane: string): StandinReply {
  return armError(
    400,
    'NodePoolMcVersionIncompatible',
    `Node pool version ${poolVersion} and control plane version ${controlPlane} are incompatible. Minor version of node pool version ${minorNumber(poolVersion)} is bigger than control plane version ${minorNumber(controlPlane)}.`,
  );
}
