import { createHash, randomBytes } from 'node:crypto';
import type { StandinReply, StandinRequest } from './https-standin.js';
import { testTls } from './test-tls.js';

/**
 * The stateful half of the GKE stand-in: clusters and node pools created, changed and deleted
 * through the v1 REST API, each change a GKE operation (`operation-…`, RUNNING -> DONE, with an
 * `error` when it failed) that takes time, resources going through GKE's status words
 * (PROVISIONING -> RUNNING, RECONCILING, STOPPING, ERROR), and GKE's refusals: one operation at a
 * time per cluster, no cluster without a node pool, versions a region does not offer, master
 * upgrades one minor at a time, node pools never newer than the master. Time moves on when a
 * request arrives: what was due by then is applied first, so a client polling sees what GKE would.
 *
 * Stricter than GKE on purpose in one place: a cluster that still has node pools cannot be deleted
 * (GKE would delete them with it), so a reconciler that skips deleting its node groups fails here.
 */

/** How long each operation takes, in ms. */
export interface GkeOperationDurations {
  createCluster: number;
  deleteCluster: number;
  upgradeMaster: number;
  createNodePool: number;
  deleteNodePool: number;
  setNodePoolSize: number;
  setNodePoolAutoscaling: number;
  upgradeNodes: number;
}

export const DEFAULT_GKE_DURATIONS: GkeOperationDurations = {
  createCluster: 300,
  deleteCluster: 200,
  upgradeMaster: 200,
  createNodePool: 200,
  deleteNodePool: 150,
  setNodePoolSize: 100,
  setNodePoolAutoscaling: 50,
  upgradeNodes: 150,
};

/**
 * The shortest a cluster with `nodePools` node pools can take to create here (ms), for a benchmark's
 * critical path: the control plane, then the deletion of the bootstrap pool GKE needs the cluster
 * created with (the GKE lifecycle's `BOOTSTRAP_POOL`), then each node pool in turn, since GKE runs
 * one operation at a time on a cluster. Requests and the rate limit come on top.
 */
export function gkeCreateCriticalPathMs(durations: GkeOperationDurations, nodePools: number): number {
  return durations.createCluster + durations.deleteNodePool + nodePools * durations.createNodePool;
}

/** GKE's operation types, as the API names them. */
export type GkeOperationType = 'CREATE_CLUSTER' | 'DELETE_CLUSTER' | 'UPGRADE_MASTER' | 'UPDATE_CLUSTER' | 'CREATE_NODE_POOL' | 'DELETE_NODE_POOL' | 'SET_NODE_POOL_SIZE' | 'UPGRADE_NODES';

/** Versions offered in a region (or a zone of it) without an entry of its own, oldest first. */
export const DEFAULT_GKE_VERSIONS = ['1.29.12-gke.1120000', '1.30.9-gke.1127000', '1.31.5-gke.1233000', '1.32.1-gke.1357000'];

export interface GkeLifecycleOptions {
  durations?: Partial<GkeOperationDurations>;
  /** Region (`europe-west1`) -> full versions offered there, for control planes and nodes alike. */
  versions?: Record<string, string[]>;
  /** vCPUs of all nodes a project may run per region; beyond it a create is refused as GKE does (403). */
  cpuQuota?: number;
}

type Json = Record<string, unknown>;

interface PoolState {
  body: Json & { name: string; status: string; initialNodeCount: number; version: string; config: Json; autoscaling?: Json; instanceGroupUrls: string[] };
  /** Nodes per zone now: what each of its instance groups holds (GKE's API shows only `initialNodeCount`). */
  size: number;
}

interface ClusterState {
  projectId: string;
  location: string;
  body: Json & { name: string; status: string; currentMasterVersion: string };
  pools: Map<string, PoolState>;
}

interface OperationState {
  projectId: string;
  location: string;
  name: string;
  type: GkeOperationType;
  clusterKey: string;
  targetLink: string;
  startTime: string;
  /** When it ends (ms since the epoch); a failing one ends half-way. */
  endsAt: number;
  status: 'RUNNING' | 'DONE';
  failure: string | null;
  /** Its google.rpc code when it fails. */
  failureCode: number;
  /** Applied when it ends well. */
  finish: () => void;
  /** Applied when it fails: the resource shows GKE's failure. */
  fail: (message: string) => void;
}

/** A string field of a request body; anything else reads as absent. */
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

const googleError = (code: number, status: string, message: string): StandinReply => ({ status: code, json: { error: { code, message, status } } });
const notFound = (what: string) => googleError(404, 'NOT_FOUND', `Not found: ${what}.`);
const badRequest = (message: string) => googleError(400, 'INVALID_ARGUMENT', message);
const precondition = (message: string) => googleError(400, 'FAILED_PRECONDITION', message);

const minorOf = (version: string): [number, number] | null => {
  const match = /^(\d+)\.(\d+)/.exec(version);
  return match ? [Number(match[1]), Number(match[2])] : null;
};
const minorDistance = (from: string, to: string): number => {
  const a = minorOf(from);
  const b = minorOf(to);
  if (!a || !b || a[0] !== b[0]) return Number.NaN;
  return b[1] - a[1];
};

/** GCE machine types' vCPUs: the number at the end, shared-core types count as 2. */
const cpusOf = (machineType: string): number => Number(/-(\d+)$/.exec(machineType)?.[1] ?? 2);

const regionOf = (location: string): string => (/^[a-z]+-[a-z]+\d+-[a-z]$/.test(location) ? location.slice(0, -2) : location);
const zonesOf = (location: string): string[] => (regionOf(location) === location ? ['b', 'c', 'd'].map((zone) => `${location}-${zone}`) : [location]);

const LABEL = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const NAME = /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/;

function badLabels(labels: unknown): string | null {
  if (labels === undefined || labels === null) return null;
  if (typeof labels !== 'object') return 'labels must be a map';
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    if (!LABEL.test(key) || typeof value !== 'string' || !LABEL_VALUE.test(value)) return `Invalid label "${key}": keys and values must be lower-case letters, digits, '_' and '-', keys starting with a letter.`;
  }
  return null;
}

const API = 'https://container.googleapis.com/v1';
/** Where GKE's node pool URLs name their instance groups. */
const COMPUTE = 'https://www.googleapis.com/compute/v1';

/** GKE's fingerprint of a label set: it changes with every change of the labels. */
const labelFingerprint = (labels: unknown): string =>
  createHash('sha256')
    .update(JSON.stringify(Object.entries((labels ?? {}) as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))))
    .digest('hex')
    .slice(0, 16);

export class GkeLifecycleStandin {
  readonly durations: GkeOperationDurations;
  readonly versions: Record<string, string[]>;
  cpuQuota: number | undefined;
  readonly clusters = new Map<string, ClusterState>();
  readonly operations: OperationState[] = [];
  /** Resources created, by path (`projects/p/locations/l/clusters/c[/nodePools/n]`): a second create of one is a duplicate. */
  readonly creates = new Map<string, number>();
  private readonly failures: { type: GkeOperationType; message: string; code: number }[] = [];
  private paused = false;

  constructor(options: GkeLifecycleOptions = {}) {
    this.durations = { ...DEFAULT_GKE_DURATIONS, ...options.durations };
    this.versions = { ...options.versions };
    this.cpuQuota = options.cpuQuota;
  }

  /** The next operation of that type fails half-way with GKE's failure message and google.rpc code (13: INTERNAL). */
  failNext(type: GkeOperationType, message: string, code = 13): void {
    this.failures.push({ type, message, code });
  }

  offered(location: string): string[] {
    return this.versions[regionOf(location)] ?? this.versions[location] ?? DEFAULT_GKE_VERSIONS;
  }

  /** Creates beyond the first of each resource. */
  duplicateCreates(): number {
    let duplicates = 0;
    for (const count of this.creates.values()) duplicates += Math.max(0, count - 1);
    return duplicates;
  }

  /** A cluster as the API answers it, for the import side's list and get too. */
  clusterBodies(projectId: string, location: string): Json[] {
    this.advance();
    return [...this.clusters.values()].filter((cluster) => cluster.projectId === projectId && (location === '-' || cluster.location === location)).map((cluster) => this.clusterBody(cluster));
  }

  /** The lifecycle routes; undefined for a path that is not one of them. */
  handle(request: StandinRequest, projectId: string): StandinReply | undefined {
    this.advance();
    const path = decodeURIComponent(request.url.pathname);
    const igms = /^\/compute\/v1\/projects\/([^/]+)\/aggregated\/instanceGroupManagers$/.exec(path);
    if (igms) return igms[1] === projectId && request.method === 'GET' ? this.instanceGroupManagers(projectId, request.url.searchParams) : undefined;
    const match = /^\/v1\/projects\/([^/]+)\/locations\/([^/:]+)(?:\/(clusters|operations)(?:\/([^/:]+)(?:\/nodePools(?:\/([^/:]+))?)?)?)?(?::(\w+)|\/(serverConfig))?$/.exec(path);
    if (!match || match[1] !== projectId) return undefined;
    const [, , location = '', collection, id, poolId, action, serverConfig] = match;
    const nodePools = path.includes('/nodePools');
    const body = request.body === '' ? {} : (JSON.parse(request.body) as Json);
    const method = request.method;
    if (serverConfig !== undefined && collection === undefined && method === 'GET') return this.serverConfig(location);
    if (collection === 'operations') {
      if (method !== 'GET') return undefined;
      if (id === undefined) return { status: 200, json: { operations: this.operations.filter((op) => op.projectId === projectId && op.location === location).map((op) => this.operationBody(op)) } };
      const operation = this.operations.find((op) => op.projectId === projectId && op.location === location && op.name === id);
      return operation ? { status: 200, json: this.operationBody(operation) } : notFound(`projects/${projectId}/locations/${location}/operations/${id}`);
    }
    if (collection !== 'clusters') return undefined;
    if (id === undefined) return method === 'POST' ? this.createCluster(projectId, location, body) : undefined;
    const key = `projects/${projectId}/locations/${location}/clusters/${id}`;
    const cluster = this.clusters.get(key);
    if (!nodePools) {
      if (method === 'GET' && action === undefined) return cluster ? { status: 200, json: this.clusterBody(cluster) } : undefined;
      if (!cluster) return notFound(key);
      if (method === 'DELETE') return this.deleteCluster(key, cluster);
      if (method === 'POST' && action === 'updateMaster') return this.upgradeMaster(key, cluster, text(body['masterVersion']));
      if (method === 'POST' && action === 'setResourceLabels') return this.setResourceLabels(key, cluster, body);
      if (method === 'PUT' && action === undefined) {
        const update = (body['update'] ?? {}) as Json;
        if (typeof update['desiredMasterVersion'] === 'string') return this.upgradeMaster(key, cluster, update['desiredMasterVersion']);
        return badRequest('This stand-in updates the master version only.');
      }
      return undefined;
    }
    if (!cluster) return notFound(key);
    if (poolId === undefined) {
      if (method === 'GET') return { status: 200, json: { nodePools: [...cluster.pools.values()].map((pool) => pool.body) } };
      if (method === 'POST') return this.createNodePool(key, cluster, (body['nodePool'] ?? {}) as Json);
      return undefined;
    }
    const poolKey = `${key}/nodePools/${poolId}`;
    const pool = cluster.pools.get(poolId);
    if (!pool) return notFound(poolKey);
    if (method === 'GET' && action === undefined) return { status: 200, json: pool.body };
    if (method === 'DELETE') return this.deleteNodePool(key, cluster, pool);
    if (method === 'POST' && action === 'setSize') return this.setSize(key, cluster, pool, Number(body['nodeCount']));
    if (method === 'POST' && action === 'setAutoscaling') return this.setAutoscaling(key, cluster, pool, (body['autoscaling'] ?? {}) as Json);
    if (method === 'PUT' && action === undefined) return this.upgradeNodes(key, cluster, pool, body);
    return undefined;
  }

  /**
   * Compute Engine's aggregated list of instance group managers, each pool's per zone with its
   * target size; `filter` as `name eq <RE2>` (a full match), as the API takes it.
   */
  private instanceGroupManagers(projectId: string, query: URLSearchParams): StandinReply {
    const filter = query.get('filter');
    const wanted = filter === null ? null : /^name eq (.+)$/.exec(filter.trim())?.[1];
    if (wanted === undefined) return badRequest(`Invalid value for field 'filter': '${filter ?? ''}'.`);
    const names = wanted === null ? null : new RegExp(`^(?:${wanted})$`);
    const items: Record<string, { instanceGroupManagers: Json[] }> = {};
    for (const cluster of this.clusters.values()) {
      if (cluster.projectId !== projectId) continue;
      for (const pool of cluster.pools.values()) {
        for (const url of pool.body.instanceGroupUrls) {
          const [, zone = '', name = ''] = /\/zones\/([^/]+)\/instanceGroupManagers\/([^/]+)$/.exec(url) ?? [];
          if (names !== null && !names.test(name)) continue;
          const scope = (items[`zones/${zone}`] ??= { instanceGroupManagers: [] });
          scope.instanceGroupManagers.push({ kind: 'compute#instanceGroupManager', name, zone: `${COMPUTE}/projects/${projectId}/zones/${zone}`, selfLink: url, targetSize: pool.size, baseInstanceName: name.replace(/-grp$/, '') });
        }
      }
    }
    return { status: 200, json: { kind: 'compute#instanceGroupManagerAggregatedList', items } };
  }

  /**
   * Holds every operation under way where it is (tests that look at a resource while it is being
   * created, updated or deleted, however slow the machine); `resume` lets what fell due meanwhile end.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Applies every operation due by now, in the order they end. */
  advance(now = Date.now()): void {
    if (this.paused) return;
    const due = this.operations.filter((op) => op.status === 'RUNNING' && op.endsAt <= now).sort((a, b) => a.endsAt - b.endsAt);
    for (const op of due) {
      op.status = 'DONE';
      if (op.failure !== null) op.fail(op.failure);
      else op.finish();
    }
  }

  private serverConfig(location: string): StandinReply {
    const versions = [...this.offered(location)].reverse();
    return {
      status: 200,
      json: {
        defaultClusterVersion: versions[1] ?? versions[0] ?? '',
        validMasterVersions: versions,
        validNodeVersions: versions,
        defaultImageType: 'COS_CONTAINERD',
        validImageTypes: ['COS_CONTAINERD', 'UBUNTU_CONTAINERD'],
      },
    };
  }

  /** A version or alias (`1.31`, `latest`, `-` for the master's) resolved against what the location offers. */
  private resolve(location: string, wanted: string): string | null {
    const offered = this.offered(location);
    if (wanted === '' || wanted === 'latest') return offered.at(-1) ?? null;
    if (offered.includes(wanted)) return wanted;
    const inMinor = offered.filter((version) => version.startsWith(`${wanted}.`));
    return inMinor.at(-1) ?? null;
  }

  private busy(key: string): StandinReply | undefined {
    const running = this.operations.find((op) => op.clusterKey === key && op.status === 'RUNNING');
    return running ? precondition(`Cluster is running incompatible operation ${running.name}.`) : undefined;
  }

  private quotaRefusal(projectId: string, location: string, adding: number): StandinReply | undefined {
    if (this.cpuQuota === undefined) return undefined;
    const region = regionOf(location);
    let used = 0;
    for (const cluster of this.clusters.values()) {
      if (cluster.projectId !== projectId || regionOf(cluster.location) !== region) continue;
      for (const pool of cluster.pools.values()) used += pool.size * zonesOf(cluster.location).length * cpusOf(text(pool.body.config['machineType']));
    }
    if (used + adding <= this.cpuQuota) return undefined;
    const available = Math.max(0, this.cpuQuota - used);
    return googleError(
      403,
      'PERMISSION_DENIED',
      `Insufficient regional quota to satisfy request: resource "CPUS": request requires '${adding.toFixed(1)}' and is short '${(adding - available).toFixed(1)}'. project has a quota of '${this.cpuQuota.toFixed(1)}' with '${available.toFixed(1)}' available.`,
    );
  }

  private start(cluster: ClusterState, type: GkeOperationType, target: string, duration: number, finish: () => void, fail: (message: string) => void): StandinReply {
    const now = Date.now();
    const failing = this.failures.findIndex((failure) => failure.type === type);
    const taken = failing === -1 ? undefined : this.failures.splice(failing, 1)[0];
    const failure = taken?.message ?? null;
    const op: OperationState = {
      projectId: cluster.projectId,
      location: cluster.location,
      name: `operation-${now}-${randomBytes(4).toString('hex')}`,
      type,
      clusterKey: `projects/${cluster.projectId}/locations/${cluster.location}/clusters/${cluster.body.name}`,
      targetLink: `${API}/${target}`,
      startTime: new Date(now).toISOString(),
      endsAt: now + (failure === null ? duration : Math.floor(duration / 2)),
      status: 'RUNNING',
      failure,
      failureCode: taken?.code ?? 13,
      finish,
      fail,
    };
    this.operations.push(op);
    return { status: 200, json: this.operationBody(op) };
  }

  private operationBody(op: OperationState): Json {
    return {
      name: op.name,
      zone: op.location,
      operationType: op.type,
      status: op.status,
      selfLink: `${API}/projects/${op.projectId}/locations/${op.location}/operations/${op.name}`,
      targetLink: op.targetLink,
      location: op.location,
      startTime: op.startTime,
      ...(op.status === 'DONE' ? { endTime: new Date(op.endsAt).toISOString() } : {}),
      ...(op.status === 'DONE' && op.failure !== null ? { error: { code: op.failureCode, message: op.failure }, statusMessage: op.failure } : {}),
    };
  }

  private clusterBody(cluster: ClusterState): Json {
    const running = cluster.body.status !== 'PROVISIONING';
    const pools = [...cluster.pools.values()];
    return {
      ...cluster.body,
      labelFingerprint: labelFingerprint(cluster.body['resourceLabels']),
      nodePools: pools.map((pool) => pool.body),
      currentNodeCount: pools.reduce((sum, pool) => sum + pool.size * zonesOf(cluster.location).length, 0),
      // The endpoint and CA exist once the control plane runs.
      ...(running ? { endpoint: '34.76.12.34', masterAuth: { clusterCaCertificate: Buffer.from(testTls().caPem).toString('base64') } } : { endpoint: '' }),
    };
  }

  private newPool(projectId: string, location: string, clusterName: string, request: Json, version: string): PoolState | StandinReply {
    const name = text(request['name']);
    if (!NAME.test(name)) return badRequest(`Invalid node pool name "${name}".`);
    const count = Number(request['initialNodeCount'] ?? 0);
    const autoscaling = (request['autoscaling'] ?? undefined) as Json | undefined;
    if (!Number.isInteger(count) || count < 0) return badRequest('NodePool.initial_node_count must be zero or more.');
    if (autoscaling?.['enabled'] === true && !(Number(autoscaling['minNodeCount']) <= Number(autoscaling['maxNodeCount']))) return badRequest('Autoscaling: min_node_count must not exceed max_node_count.');
    const config = (request['config'] ?? {}) as Json;
    const labelsWrong = badLabels(config['resourceLabels']);
    if (labelsWrong !== null) return badRequest(labelsWrong);
    const machineType = typeof config['machineType'] === 'string' && config['machineType'] !== '' ? config['machineType'] : 'e2-medium';
    // One managed instance group per zone, named as GKE names them.
    const instanceGroupUrls = zonesOf(location).map((zone) => {
      const hash = createHash('sha256').update(`${projectId}/${location}/${clusterName}/${name}/${zone}`).digest('hex').slice(0, 8);
      return `${COMPUTE}/projects/${projectId}/zones/${zone}/instanceGroupManagers/gke-${clusterName.slice(0, 16)}-${name.slice(0, 16)}-${hash}-grp`;
    });
    return {
      size: count,
      body: {
        ...request,
        name,
        config: { diskSizeGb: 100, imageType: 'COS_CONTAINERD', diskType: 'pd-balanced', ...config, machineType },
        initialNodeCount: count,
        locations: zonesOf(location),
        instanceGroupUrls,
        selfLink: `${API}/projects/${projectId}/locations/${location}/clusters/${clusterName}/nodePools/${name}`,
        version,
        status: 'PROVISIONING',
      },
    };
  }

  private countCreate(path: string): void {
    this.creates.set(path, (this.creates.get(path) ?? 0) + 1);
  }

  private createCluster(projectId: string, location: string, body: Json): StandinReply {
    const request = (body['cluster'] ?? {}) as Json;
    const name = text(request['name']);
    if (!NAME.test(name)) return badRequest(`Invalid cluster name "${name}": a lower-case letter first, then letters, digits or '-', at most 40 characters.`);
    const key = `projects/${projectId}/locations/${location}/clusters/${name}`;
    if (this.clusters.has(key)) return googleError(409, 'ALREADY_EXISTS', `Already exists: ${key}.`);
    const labelsWrong = badLabels(request['resourceLabels']);
    if (labelsWrong !== null) return badRequest(labelsWrong);
    const poolRequests = Array.isArray(request['nodePools']) ? (request['nodePools'] as Json[]) : [];
    if (poolRequests.length === 0 && !(Number(request['initialNodeCount'] ?? 0) > 0)) return badRequest('Cluster.initial_node_count must be greater than zero.');
    const wanted = text(request['initialClusterVersion']);
    const version = this.resolve(location, wanted);
    if (version === null) return badRequest(`Master version "${wanted}" is unsupported.`);
    const pools = new Map<string, PoolState>();
    let cpus = 0;
    for (const poolRequest of poolRequests) {
      const pool = this.newPool(projectId, location, name, poolRequest, version);
      if ('status' in pool && typeof pool.status === 'number') return pool;
      const state = pool as PoolState;
      pools.set(state.body.name, state);
      cpus += state.body.initialNodeCount * zonesOf(location).length * cpusOf(text(state.body.config['machineType']));
    }
    const refused = this.quotaRefusal(projectId, location, cpus);
    if (refused) return refused;
    const cluster: ClusterState = {
      projectId,
      location,
      pools,
      body: {
        ...request,
        name,
        location,
        zone: location,
        locations: zonesOf(location),
        selfLink: `${API}/${key}`,
        initialClusterVersion: version,
        currentMasterVersion: version,
        currentNodeVersion: version,
        createTime: new Date().toISOString(),
        status: 'PROVISIONING',
        id: randomBytes(16).toString('hex'),
      },
    };
    this.clusters.set(key, cluster);
    this.countCreate(key);
    for (const pool of pools.keys()) this.countCreate(`${key}/nodePools/${pool}`);
    return this.start(
      cluster,
      'CREATE_CLUSTER',
      key,
      this.durations.createCluster,
      () => {
        cluster.body.status = 'RUNNING';
        for (const pool of cluster.pools.values()) pool.body.status = 'RUNNING';
      },
      (message) => {
        cluster.body.status = 'ERROR';
        cluster.body['statusMessage'] = message;
        for (const pool of cluster.pools.values()) pool.body.status = 'ERROR';
      },
    );
  }

  private deleteCluster(key: string, cluster: ClusterState): StandinReply {
    const busy = this.busy(key);
    if (busy) return busy;
    if (cluster.pools.size > 0) return precondition(`Cluster ${cluster.body.name} still has node pools (${[...cluster.pools.keys()].join(', ')}): delete them first.`);
    const status = cluster.body.status;
    cluster.body.status = 'STOPPING';
    return this.start(
      cluster,
      'DELETE_CLUSTER',
      key,
      this.durations.deleteCluster,
      () => this.clusters.delete(key),
      (message) => {
        cluster.body.status = status === 'RUNNING' ? 'ERROR' : status;
        cluster.body['statusMessage'] = message;
      },
    );
  }

  private upgradeMaster(key: string, cluster: ClusterState, wanted: string): StandinReply {
    const busy = this.busy(key);
    if (busy) return busy;
    if (cluster.body.status !== 'RUNNING') return precondition(`Cluster ${cluster.body.name} is not running (${cluster.body.status}).`);
    const current = cluster.body.currentMasterVersion;
    const version = this.resolve(cluster.location, wanted);
    if (version === null) return badRequest(`Master version "${wanted}" is unsupported.`);
    const step = minorDistance(current, version);
    if (step !== 1 && !(step === 0 && version !== current)) return badRequest(`Master cannot be upgraded from "${current}" to "${wanted}": upgrades go one minor version at a time.`);
    for (const pool of cluster.pools.values()) {
      if (minorDistance(pool.body.version, version) > 2) return precondition(`Master cannot be upgraded to "${wanted}": node pool ${pool.body.name} at "${pool.body.version}" would be more than two minor versions older.`);
    }
    cluster.body.status = 'RECONCILING';
    return this.start(
      cluster,
      'UPGRADE_MASTER',
      key,
      this.durations.upgradeMaster,
      () => {
        cluster.body.status = 'RUNNING';
        cluster.body.currentMasterVersion = version;
      },
      (message) => {
        cluster.body.status = 'RUNNING';
        cluster.body['statusMessage'] = message;
      },
    );
  }

  /** setResourceLabels: the whole set replaced, refused unless the caller saw the set it replaces (its fingerprint). */
  private setResourceLabels(key: string, cluster: ClusterState, body: Json): StandinReply {
    const busy = this.busy(key);
    if (busy) return busy;
    const labels = body['resourceLabels'] ?? {};
    const labelsWrong = badLabels(labels);
    if (labelsWrong !== null) return badRequest(labelsWrong);
    if (text(body['labelFingerprint']) !== labelFingerprint(cluster.body['resourceLabels'])) {
      return precondition(`Labels could not be set due to fingerprint mismatch: cluster ${cluster.body.name}'s labels changed since they were read.`);
    }
    const previous = cluster.body['resourceLabels'];
    cluster.body['resourceLabels'] = labels;
    return this.start(
      cluster,
      'UPDATE_CLUSTER',
      key,
      0,
      () => undefined,
      () => {
        cluster.body['resourceLabels'] = previous;
      },
    );
  }

  private createNodePool(key: string, cluster: ClusterState, request: Json): StandinReply {
    const busy = this.busy(key);
    if (busy) return busy;
    if (cluster.body.status !== 'RUNNING') return precondition(`Cluster ${cluster.body.name} is not running (${cluster.body.status}).`);
    const name = text(request['name']);
    if (cluster.pools.has(name)) return googleError(409, 'ALREADY_EXISTS', `Already exists: ${key}/nodePools/${name}.`);
    const wanted = typeof request['version'] === 'string' && request['version'] !== '' ? request['version'] : cluster.body.currentMasterVersion;
    const version = this.resolve(cluster.location, wanted);
    if (version === null) return badRequest(`Node version "${wanted}" is unsupported.`);
    if (minorDistance(cluster.body.currentMasterVersion, version) > 0) return badRequest(`Node version "${wanted}" must not be newer than master version "${cluster.body.currentMasterVersion}".`);
    const pool = this.newPool(cluster.projectId, cluster.location, cluster.body.name, request, version);
    if ('status' in pool && typeof pool.status === 'number') return pool;
    const state = pool as PoolState;
    const refused = this.quotaRefusal(cluster.projectId, cluster.location, state.body.initialNodeCount * zonesOf(cluster.location).length * cpusOf(text(state.body.config['machineType'])));
    if (refused) return refused;
    cluster.pools.set(name, state);
    this.countCreate(`${key}/nodePools/${name}`);
    return this.start(
      cluster,
      'CREATE_NODE_POOL',
      `${key}/nodePools/${name}`,
      this.durations.createNodePool,
      () => {
        state.body.status = 'RUNNING';
      },
      (message) => {
        state.body.status = 'ERROR';
        state.body['statusMessage'] = message;
      },
    );
  }

  private poolReady(key: string, cluster: ClusterState, pool: PoolState): StandinReply | undefined {
    const busy = this.busy(key);
    if (busy) return busy;
    if (pool.body.status !== 'RUNNING') return precondition(`Node pool ${pool.body.name} is not running (${pool.body.status}).`);
    return cluster.body.status === 'RUNNING' ? undefined : precondition(`Cluster ${cluster.body.name} is not running (${cluster.body.status}).`);
  }

  private deleteNodePool(key: string, cluster: ClusterState, pool: PoolState): StandinReply {
    const busy = this.busy(key);
    if (busy) return busy;
    const status = pool.body.status;
    pool.body.status = 'STOPPING';
    return this.start(
      cluster,
      'DELETE_NODE_POOL',
      `${key}/nodePools/${pool.body.name}`,
      this.durations.deleteNodePool,
      () => cluster.pools.delete(pool.body.name),
      (message) => {
        pool.body.status = status === 'RUNNING' ? 'RUNNING_WITH_ERROR' : 'ERROR';
        pool.body['statusMessage'] = message;
      },
    );
  }

  private setSize(key: string, cluster: ClusterState, pool: PoolState, count: number): StandinReply {
    const refused = this.poolReady(key, cluster, pool);
    if (refused) return refused;
    if (!Number.isInteger(count) || count < 0) return badRequest('node_count must be zero or more.');
    const growth = (count - pool.size) * zonesOf(cluster.location).length * cpusOf(String(pool.body.config['machineType']));
    const quota = growth > 0 ? this.quotaRefusal(cluster.projectId, cluster.location, growth) : undefined;
    if (quota) return quota;
    pool.body.status = 'RECONCILING';
    return this.start(
      cluster,
      'SET_NODE_POOL_SIZE',
      `${key}/nodePools/${pool.body.name}`,
      this.durations.setNodePoolSize,
      () => {
        pool.body.status = 'RUNNING';
        // A resize changes the instance groups (nodes per zone), never the size the pool was created with.
        pool.size = count;
      },
      (message) => {
        pool.body.status = 'RUNNING_WITH_ERROR';
        pool.body['statusMessage'] = message;
      },
    );
  }

  private setAutoscaling(key: string, cluster: ClusterState, pool: PoolState, autoscaling: Json): StandinReply {
    const refused = this.poolReady(key, cluster, pool);
    if (refused) return refused;
    const enabled = autoscaling['enabled'] === true;
    const min = Number(autoscaling['minNodeCount'] ?? 0);
    const max = Number(autoscaling['maxNodeCount'] ?? 0);
    if (enabled && !(Number.isInteger(min) && Number.isInteger(max) && min >= 0 && min <= max && max > 0)) return badRequest('Autoscaling: 0 <= min_node_count <= max_node_count, max_node_count > 0.');
    pool.body.status = 'RECONCILING';
    // GKE reports it as an update of the cluster's node pool; the stand-in names it as the resize it is.
    return this.start(
      cluster,
      'SET_NODE_POOL_SIZE',
      `${key}/nodePools/${pool.body.name}`,
      this.durations.setNodePoolAutoscaling,
      () => {
        pool.body.status = 'RUNNING';
        if (enabled) {
          pool.body.autoscaling = { enabled: true, minNodeCount: min, maxNodeCount: max };
          // The autoscaler brings the pool within its new bounds.
          pool.size = Math.min(max, Math.max(min, pool.size));
        } else delete pool.body.autoscaling;
      },
      (message) => {
        pool.body.status = 'RUNNING_WITH_ERROR';
        pool.body['statusMessage'] = message;
      },
    );
  }

  private upgradeNodes(key: string, cluster: ClusterState, pool: PoolState, body: Json): StandinReply {
    const refused = this.poolReady(key, cluster, pool);
    if (refused) return refused;
    if (typeof body['imageType'] !== 'string' || body['imageType'] === '') return badRequest('Field image_type is required.');
    const wanted = text(body['nodeVersion']);
    const version = wanted === '-' ? cluster.body.currentMasterVersion : this.resolve(cluster.location, wanted);
    if (version === null) return badRequest(`Node version "${wanted}" is unsupported.`);
    if (minorDistance(cluster.body.currentMasterVersion, version) > 0) return badRequest(`Node version "${wanted}" must not be newer than master version "${cluster.body.currentMasterVersion}".`);
    if (minorDistance(pool.body.version, version) < 0) return badRequest(`Node version "${wanted}" is older than the node pool's "${pool.body.version}": downgrades are not supported.`);
    pool.body.status = 'RECONCILING';
    return this.start(
      cluster,
      'UPGRADE_NODES',
      `${key}/nodePools/${pool.body.name}`,
      this.durations.upgradeNodes,
      () => {
        pool.body.status = 'RUNNING';
        pool.body.version = version;
        pool.body.config['imageType'] = body['imageType'];
      },
      (message) => {
        pool.body.status = 'RUNNING_WITH_ERROR';
        pool.body['statusMessage'] = message;
      },
    );
  }
}
