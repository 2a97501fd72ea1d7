import { randomUUID } from 'node:crypto';
import type { StandinReply } from './https-standin.js';
import { testTls } from './test-tls.js';

/**
 * The stateful half of the EKS stand-in: clusters and managed node groups created, updated and
 * deleted through the API, each change taking time and going through EKS's own status words
 * (CREATING -> ACTIVE, UPDATING, DELETING; CREATE_FAILED, DELETE_FAILED, FAILED), updates with
 * ids (DescribeUpdate: InProgress -> Successful / Failed), and EKS's refusals when a step comes too
 * early, twice or out of order. Time moves on when a request arrives: what was due by then is
 * applied first, so a client polling sees what EKS would show.
 */

/** How long each operation takes, in ms. */
export interface EksOperationDurations {
  createCluster: number;
  deleteCluster: number;
  updateClusterVersion: number;
  createNodegroup: number;
  deleteNodegroup: number;
  updateNodegroupConfig: number;
  updateNodegroupVersion: number;
}
export type EksOperationName = keyof EksOperationDurations;

export const DEFAULT_EKS_DURATIONS: EksOperationDurations = {
  createCluster: 300,
  deleteCluster: 200,
  updateClusterVersion: 200,
  createNodegroup: 200,
  deleteNodegroup: 150,
  updateNodegroupConfig: 100,
  updateNodegroupVersion: 150,
};

/** Versions offered in a region without an entry of its own. */
export const DEFAULT_EKS_VERSIONS = ['1.29', '1.30', '1.31', '1.32'];

/**
 * An operation that fails half-way: it is accepted, runs for its duration, then ends as EKS shows a
 * failure (the resource FAILED / CREATE_FAILED / DELETE_FAILED with a health issue, or the update
 * Failed with an error). `name`: the cluster's or node group's; absent, the next of that operation.
 */
export interface EksInjectedFailure {
  operation: EksOperationName;
  name?: string;
  /** The issue or error code EKS gives, e.g. `AsgInstanceLaunchFailures`, `NodeCreationFailure`. */
  code: string;
  message: string;
}

export interface EksLifecycleOptions {
  durations?: Partial<EksOperationDurations>;
  /** `major.minor` versions offered per region. */
  versions?: Record<string, string[]>;
  /** Clusters an account may have per region (EKS's default quota is 100). */
  clusterQuota?: number;
  /** Managed node groups per cluster (EKS's default quota is 30). */
  nodegroupQuota?: number;
}

type Json = Record<string, unknown>;
export type EksClusterBody = Json & { name: string };
export type EksNodegroupBody = Json & { nodegroupName: string };

/** The store the API shows (shared with the import side's fixtures). */
export interface EksStore {
  region: string;
  cluster: EksClusterBody;
  nodegroups: EksNodegroupBody[];
}

interface UpdateRecord {
  nodegroupName: string | undefined;
  token: string | undefined;
  body: Json & { id: string; status: string };
}

/** What EKS keeps of a resource and does not show: request tokens and updates. */
interface Hidden {
  clusterToken: string | undefined;
  nodegroupTokens: Map<string, string | undefined>;
  updates: UpdateRecord[];
}

const ACCOUNT = '123456789012';

export const eksError = (status: number, type: string, message: string): StandinReply => ({
  status,
  json: { message },
  headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.eks/` },
});
const invalidParameter = (message: string) => eksError(400, 'InvalidParameterException', message);
const invalidRequest = (message: string) => eksError(400, 'InvalidRequestException', message);
const inUse = (message: string) => eksError(409, 'ResourceInUseException', message);
const notFound = (message: string) => eksError(404, 'ResourceNotFoundException', message);
const ok = (json: Json): StandinReply => ({ status: 200, json });

const minorNumber = (version: string): number => Number(version.split('.')[1] ?? Number.NaN);
const minorOf = (version: string): string => version.split('.').slice(0, 2).join('.');
const epochSeconds = (ms: number) => Math.round(ms) / 1000;
const isPositiveInt = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

export class EksLifecycleApi {
  readonly durations: EksOperationDurations;
  readonly versions: Record<string, string[]>;
  clusterQuota: number;
  nodegroupQuota: number;
  /** Failures still to happen, consumed by the first operation that matches. */
  readonly failures: EksInjectedFailure[] = [];
  /** Resources made per `cluster/<region>/<name>` and `nodegroup/<region>/<cluster>/<name>`: repeats answered from a token do not count. */
  readonly creates = new Map<string, number>();
  /** Create calls per resource, made or not (a repeat with the same token, a refusal...). */
  readonly createCalls = new Map<string, number>();

  private readonly hidden = new WeakMap<EksClusterBody, Hidden>();
  private timeline: { at: number; seq: number; apply: () => void }[] = [];
  private seq = 0;
  private paused = false;

  constructor(
    private readonly store: EksStore[],
    options: EksLifecycleOptions = {},
  ) {
    this.durations = { ...DEFAULT_EKS_DURATIONS, ...options.durations };
    this.versions = { ...options.versions };
    this.clusterQuota = options.clusterQuota ?? 100;
    this.nodegroupQuota = options.nodegroupQuota ?? 30;
  }

  /** Resources made more than once (should be none). */
  get duplicateCreates(): number {
    return [...this.creates.values()].reduce((sum, count) => sum + Math.max(0, count - 1), 0);
  }

  offered(region: string): string[] {
    return this.versions[region] ?? DEFAULT_EKS_VERSIONS;
  }

  /** Forgets every change under way, injected failure and count (not the store). */
  reset(): void {
    this.timeline = [];
    this.paused = false;
    this.failures.length = 0;
    this.creates.clear();
    this.createCalls.clear();
  }

  /**
   * Holds every change under way where it is (tests that look at a resource while it is CREATING,
   * UPDATING or DELETING, however slow the machine); `resume` lets what fell due meanwhile happen.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Applies what was due by `now`, in the order it was due. */
  advance(now = Date.now()): void {
    if (this.paused) return;
    const due = this.timeline.filter((entry) => entry.at <= now).sort((a, b) => a.at - b.at || a.seq - b.seq);
    if (due.length === 0) return;
    this.timeline = this.timeline.filter((entry) => entry.at > now);
    for (const entry of due) entry.apply();
  }

  /** The lifecycle calls; undefined for what the read side answers (Describe/List of clusters and node groups). */
  route(method: string, segments: string[], query: URLSearchParams, body: string, region: string): StandinReply | undefined {
    if (segments[0] === 'cluster-versions' && segments.length === 1 && method === 'GET') return this.describeClusterVersions(region, query);
    if (segments[0] === 'tags' && segments.length === 2 && method === 'POST') return this.withBody(body, (input) => this.tagResource(region, segments[1] ?? '', input));
    if (segments[0] !== 'clusters') return undefined;
    const [, clusterName, sub, nodegroupName, action] = segments;
    if (clusterName === undefined) return method === 'POST' ? this.withBody(body, (input) => this.createCluster(region, input)) : undefined;
    if (sub === undefined) return method === 'DELETE' ? this.deleteCluster(region, clusterName) : undefined;
    if (sub === 'updates') {
      if (method === 'POST' && nodegroupName === undefined) return this.withBody(body, (input) => this.updateClusterVersion(region, clusterName, input));
      if (method === 'GET') return nodegroupName === undefined ? this.listUpdates(region, clusterName, query) : this.describeUpdate(region, clusterName, nodegroupName, query);
      return undefined;
    }
    if (sub !== 'node-groups') return undefined;
    if (nodegroupName === undefined) return method === 'POST' ? this.withBody(body, (input) => this.createNodegroup(region, clusterName, input)) : undefined;
    if (action === undefined) return method === 'DELETE' ? this.deleteNodegroup(region, clusterName, nodegroupName) : undefined;
    if (method === 'POST' && action === 'update-config') return this.withBody(body, (input) => this.updateNodegroupConfig(region, clusterName, nodegroupName, input));
    if (method === 'POST' && action === 'update-version') return this.withBody(body, (input) => this.updateNodegroupVersion(region, clusterName, nodegroupName, input));
    return undefined;
  }

  private withBody(body: string, handle: (input: Json) => StandinReply): StandinReply {
    let input: unknown;
    try {
      input = body === '' ? {} : JSON.parse(body);
    } catch {
      return eksError(400, 'SerializationException', 'The request body is not JSON');
    }
    return typeof input === 'object' && input !== null && !Array.isArray(input) ? handle(input as Json) : eksError(400, 'SerializationException', 'The request body is not a JSON object');
  }

  /** TagResource: adds (or replaces) tags of a cluster or managed node group, named by its ARN. */
  private tagResource(region: string, arn: string, input: Json): StandinReply {
    const tags = input.tags;
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags) || Object.keys(tags).length === 0) return invalidParameter('tags must map at least one key to a value');
    if (Object.entries(tags).some(([key, value]) => key === '' || key.length > 128 || typeof value !== 'string' || value.length > 256 || key.startsWith('aws:'))) {
      return invalidParameter('Tag keys must be 1-128 characters and not start with aws:, values at most 256 characters');
    }
    for (const entry of this.store) {
      if (entry.region !== region) continue;
      const resource = entry.cluster.arn === arn ? entry.cluster : entry.nodegroups.find((nodegroup) => nodegroup.nodegroupArn === arn);
      if (resource === undefined) continue;
      resource.tags = { ...(resource.tags as Record<string, string> | undefined), ...(tags as Record<string, string>) };
      return ok({});
    }
    return notFound(`No resource found for ARN: ${arn}.`);
  }

  private find(region: string, name: string): EksStore | undefined {
    return this.store.find((entry) => entry.region === region && entry.cluster.name === name);
  }

  private hiddenOf(entry: EksStore): Hidden {
    let hidden = this.hidden.get(entry.cluster);
    if (!hidden) {
      hidden = { clusterToken: undefined, nodegroupTokens: new Map(), updates: [] };
      this.hidden.set(entry.cluster, hidden);
    }
    return hidden;
  }

  private later(ms: number, apply: () => void): void {
    this.timeline.push({ at: Date.now() + ms, seq: this.seq++, apply });
  }

  private failureFor(operation: EksOperationName, name: string): EksInjectedFailure | undefined {
    const index = this.failures.findIndex((failure) => failure.operation === operation && (failure.name === undefined || failure.name === name));
    return index < 0 ? undefined : this.failures.splice(index, 1)[0];
  }

  private count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  private describeClusterVersions(region: string, query: URLSearchParams): StandinReply {
    const asked = query.getAll('clusterVersions');
    const offered = this.offered(region);
    const newest = offered.at(-1);
    const versions = offered
      .filter((version) => asked.length === 0 || asked.includes(version))
      .map((version) => ({
        clusterVersion: version,
        clusterType: 'eks',
        defaultPlatformVersion: 'eks.8',
        // EKS's default is the newest but one, when there is one.
        defaultVersion: version === (offered.at(-2) ?? newest),
        releaseDate: 1_717_000_000,
        endOfStandardSupportDate: 1_780_000_000,
        endOfExtendedSupportDate: 1_810_000_000,
        status: 'STANDARD_SUPPORT',
        versionStatus: 'STANDARD_SUPPORT',
        kubernetesPatchVersion: `${version}.4`,
      }));
    const start = Number(query.get('nextToken') ?? '0');
    const size = Number(query.get('maxResults') ?? '100');
    return ok({ clusterVersions: versions.slice(start, start + size), ...(start + size < versions.length ? { nextToken: String(start + size) } : {}) });
  }

  private createCluster(region: string, input: Json): StandinReply {
    const name = input.name;
    if (typeof name !== 'string' || !/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/.test(name)) return invalidParameter('The cluster name must be 1-100 letters, digits, hyphens and underscores');
    this.count(this.createCalls, `cluster/${region}/${name}`);
    const token = typeof input.clientRequestToken === 'string' ? input.clientRequestToken : undefined;
    const existing = this.find(region, name);
    if (existing) {
      // The same request again (its token): EKS answers with what the first one made.
      if (token !== undefined && this.hiddenOf(existing).clusterToken === token) return ok({ cluster: existing.cluster });
      return inUse(`Cluster already exists with name: ${name}`);
    }
    if (typeof input.roleArn !== 'string' || !input.roleArn.startsWith('arn:aws:iam::')) return invalidParameter('roleArn must be the ARN of an IAM role');
    const vpc = (input.resourcesVpcConfig ?? {}) as { subnetIds?: unknown; securityGroupIds?: unknown; endpointPublicAccess?: unknown; endpointPrivateAccess?: unknown };
    if (!Array.isArray(vpc.subnetIds) || new Set(vpc.subnetIds).size < 2) return invalidParameter('Subnets specified must be in at least two different AZs');
    const offered = this.offered(region);
    const version = typeof input.version === 'string' ? input.version : (offered.at(-2) ?? offered.at(-1) ?? '');
    if (!offered.includes(version)) return invalidParameter(`unsupported Kubernetes version ${version}`);
    if (this.store.filter((entry) => entry.region === region).length >= this.clusterQuota) {
      return eksError(400, 'ResourceLimitExceededException', `Cluster limit exceeded for account ${ACCOUNT} in ${region}`);
    }
    const now = Date.now();
    const cluster: EksClusterBody = {
      name,
      arn: `arn:aws:eks:${region}:${ACCOUNT}:cluster/${name}`,
      createdAt: epochSeconds(now),
      version,
      roleArn: input.roleArn,
      resourcesVpcConfig: {
        subnetIds: vpc.subnetIds,
        securityGroupIds: Array.isArray(vpc.securityGroupIds) ? vpc.securityGroupIds : [],
        clusterSecurityGroupId: 'sg-0c1a2b3c',
        vpcId: 'vpc-0abc',
        endpointPublicAccess: vpc.endpointPublicAccess !== false,
        endpointPrivateAccess: vpc.endpointPrivateAccess === true,
        publicAccessCidrs: ['0.0.0.0/0'],
      },
      kubernetesNetworkConfig: { serviceIpv4Cidr: '10.100.0.0/16', ipFamily: 'ipv4' },
      status: 'CREATING',
      platformVersion: 'eks.8',
      tags: typeof input.tags === 'object' && input.tags !== null ? input.tags : {},
      accessConfig: input.accessConfig ?? { authenticationMode: 'CONFIG_MAP' },
      health: { issues: [] },
    };
    const entry: EksStore = { region, cluster, nodegroups: [] };
    this.store.push(entry);
    this.hiddenOf(entry).clusterToken = token;
    this.count(this.creates, `cluster/${region}/${name}`);
    const failure = this.failureFor('createCluster', name);
    this.later(this.durations.createCluster, () => {
      if (failure) {
        cluster.status = 'FAILED';
        cluster.health = { issues: [{ code: failure.code, message: failure.message, resourceIds: [name] }] };
        return;
      }
      cluster.status = 'ACTIVE';
      // The endpoint and the CA exist once the control plane does.
      cluster.endpoint = `https://${name.toUpperCase().replace(/[^A-Z0-9]/g, '')}0A1B2C3D.gr7.${region}.eks.amazonaws.com`;
      cluster.certificateAuthority = { data: Buffer.from(testTls().caPem).toString('base64') };
      cluster.identity = { oidc: { issuer: `https://oidc.eks.${region}.amazonaws.com/id/0A1B2C3D` } };
    });
    return ok({ cluster });
  }

  private deleteCluster(region: string, name: string): StandinReply {
    const entry = this.find(region, name);
    if (!entry) return notFound(`No cluster found for name: ${name}.`);
    if (entry.nodegroups.length > 0) return inUse(`Cluster has nodegroups attached: ${entry.nodegroups.map((nodegroup) => nodegroup.nodegroupName).join(', ')}`);
    const status = String(entry.cluster.status);
    if (status !== 'ACTIVE' && status !== 'FAILED') return inUse(`Cluster ${name} is in ${status} state and cannot be deleted now`);
    entry.cluster.status = 'DELETING';
    const failure = this.failureFor('deleteCluster', name);
    this.later(this.durations.deleteCluster, () => {
      if (failure) {
        entry.cluster.status = 'FAILED';
        entry.cluster.health = { issues: [{ code: failure.code, message: failure.message, resourceIds: [name] }] };
        return;
      }
      const index = this.store.indexOf(entry);
      if (index >= 0) this.store.splice(index, 1);
    });
    return ok({ cluster: entry.cluster });
  }

  /**
   * An update of a cluster (`nodegroupName` undefined) or of one of its node groups: a repeat of its
   * token answers the first one; the resource must be ACTIVE; `plan` refuses the change or says
   * what it is. The resource is UPDATING for the operation's duration, then ACTIVE again, with the
   * change applied unless the operation was made to fail.
   */
  private runUpdate(
    entry: EksStore,
    resource: Json,
    name: string,
    nodegroupName: string | undefined,
    input: Json,
    operation: 'updateClusterVersion' | 'updateNodegroupConfig' | 'updateNodegroupVersion',
    plan: () => StandinReply | { type: string; params: { type: string; value: string }[]; apply: () => void },
  ): StandinReply {
    const token = typeof input.clientRequestToken === 'string' ? input.clientRequestToken : undefined;
    const updates = this.hiddenOf(entry).updates;
    const replay = token === undefined ? undefined : updates.find((update) => update.token === token && update.nodegroupName === nodegroupName);
    if (replay) return ok({ update: replay.body });
    if (resource.status !== 'ACTIVE') return inUse(`${nodegroupName === undefined ? 'Cluster' : 'Nodegroup'} ${name} is in ${String(resource.status)} state; an update cannot start`);
    const planned = plan();
    if ('status' in planned) return planned;
    const record: UpdateRecord = {
      nodegroupName,
      token,
      body: { id: randomUUID(), status: 'InProgress', type: planned.type, params: planned.params, createdAt: epochSeconds(Date.now()), errors: [] },
    };
    updates.push(record);
    resource.status = 'UPDATING';
    const failure = this.failureFor(operation, name);
    this.later(this.durations[operation], () => {
      resource.status = 'ACTIVE';
      if (failure) {
        record.body.status = 'Failed';
        record.body.errors = [{ errorCode: failure.code, errorMessage: failure.message, resourceIds: [name] }];
        return;
      }
      planned.apply();
      record.body.status = 'Successful';
    });
    return ok({ update: record.body });
  }

  private updateClusterVersion(region: string, name: string, input: Json): StandinReply {
    const entry = this.find(region, name);
    if (!entry) return notFound(`No cluster found for name: ${name}.`);
    const cluster = entry.cluster;
    return this.runUpdate(entry, cluster, name, undefined, input, 'updateClusterVersion', () => {
      const version = input.version;
      const current = String(cluster.version);
      if (typeof version !== 'string' || !/^\d+\.\d+$/.test(version)) return invalidParameter('version must be a Kubernetes minor version such as 1.31');
      if (version === current) return invalidParameter(`The cluster is already at Kubernetes version ${version}`);
      if (minorNumber(version) !== minorNumber(current) + 1) return invalidParameter(`Unsupported Kubernetes minor version update from ${current} to ${version}`);
      if (!this.offered(region).includes(version)) return invalidParameter(`unsupported Kubernetes version ${version}`);
      const behind = entry.nodegroups.filter((nodegroup) => minorOf(String(nodegroup.version)) !== current);
      if (behind.length > 0) {
        return invalidRequest(`Nodegroups ${behind.map((nodegroup) => nodegroup.nodegroupName).join(', ')} must be updated to match cluster version ${current} before updating cluster version`);
      }
      return {
        type: 'VersionUpdate',
        params: [
          { type: 'Version', value: version },
          { type: 'PlatformVersion', value: 'eks.1' },
        ],
        apply: () => {
          cluster.version = version;
          cluster.platformVersion = 'eks.1';
        },
      };
    });
  }

  private listUpdates(region: string, name: string, query: URLSearchParams): StandinReply {
    const entry = this.find(region, name);
    if (!entry) return notFound(`No cluster found for name: ${name}.`);
    const nodegroupName = query.get('nodegroupName') ?? undefined;
    if (nodegroupName !== undefined && !entry.nodegroups.some((nodegroup) => nodegroup.nodegroupName === nodegroupName)) return notFound(`No node group found for name: ${nodegroupName}.`);
    const ids = this.hiddenOf(entry).updates.filter((update) => update.nodegroupName === nodegroupName).map((update) => update.body.id);
    const start = Number(query.get('nextToken') ?? '0');
    const size = Number(query.get('maxResults') ?? '100');
    return ok({ updateIds: ids.slice(start, start + size), ...(start + size < ids.length ? { nextToken: String(start + size) } : {}) });
  }

  private describeUpdate(region: string, name: string, updateId: string, query: URLSearchParams): StandinReply {
    const entry = this.find(region, name);
    if (!entry) return notFound(`No cluster found for name: ${name}.`);
    const nodegroupName = query.get('nodegroupName') ?? undefined;
    // An update is found under the resource it is of: a node group's needs its name.
    const record = this.hiddenOf(entry).updates.find((update) => update.body.id === updateId && update.nodegroupName === nodegroupName);
    return record ? ok({ update: record.body }) : notFound(`No update found for ID: ${updateId}`);
  }

  private createNodegroup(region: string, clusterName: string, input: Json): StandinReply {
    const entry = this.find(region, clusterName);
    const name = input.nodegroupName;
    if (typeof name !== 'string' || !/^[0-9A-Za-z][A-Za-z0-9\-_]{0,62}$/.test(name)) return invalidParameter('nodegroupName must be 1-63 letters, digits, hyphens and underscores');
    this.count(this.createCalls, `nodegroup/${region}/${clusterName}/${name}`);
    if (!entry) return notFound(`No cluster found for name: ${clusterName}.`);
    const hidden = this.hiddenOf(entry);
    const token = typeof input.clientRequestToken === 'string' ? input.clientRequestToken : undefined;
    const existing = entry.nodegroups.find((nodegroup) => nodegroup.nodegroupName === name);
    if (existing) {
      if (token !== undefined && hidden.nodegroupTokens.get(name) === token) return ok({ nodegroup: existing });
      return inUse(`NodeGroup already exists with name ${name} and cluster name ${clusterName}`);
    }
    const cluster = entry.cluster;
    if (cluster.status !== 'ACTIVE') return invalidRequest(`Cluster '${clusterName}' is not in ACTIVE state (it is ${String(cluster.status)})`);
    if (typeof input.nodeRole !== 'string' || !input.nodeRole.startsWith('arn:aws:iam::')) return invalidParameter('nodeRole must be the ARN of an IAM role');
    if (!Array.isArray(input.subnets) || input.subnets.length === 0) return invalidParameter('subnets must name at least one subnet');
    const scaling = this.scalingProblem(input.scalingConfig);
    if (typeof scaling === 'string') return invalidParameter(scaling);
    const clusterVersion = String(cluster.version);
    const version = typeof input.version === 'string' ? input.version : clusterVersion;
    if (minorNumber(version) > minorNumber(clusterVersion)) return invalidParameter(`Requested Nodegroup version ${version} is newer than the cluster version ${clusterVersion}`);
    if (entry.nodegroups.length >= this.nodegroupQuota) return eksError(400, 'ResourceLimitExceededException', `Nodegroups limit exceeded for cluster ${clusterName}`);
    const instanceTypes = Array.isArray(input.instanceTypes) ? input.instanceTypes : ['t3.medium'];
    const nodegroup: EksNodegroupBody = {
      nodegroupName: name,
      nodegroupArn: `arn:aws:eks:${region}:${ACCOUNT}:nodegroup/${clusterName}/${name}/${randomUUID().slice(0, 8)}`,
      clusterName,
      version,
      releaseVersion: `${version}.0-20241109`,
      createdAt: epochSeconds(Date.now()),
      status: 'CREATING',
      capacityType: 'ON_DEMAND',
      scalingConfig: scaling,
      instanceTypes,
      subnets: input.subnets,
      amiType: 'AL2023_x86_64_STANDARD',
      nodeRole: input.nodeRole,
      labels: input.labels ?? {},
      taints: input.taints ?? [],
      tags: input.tags ?? {},
      health: { issues: [] },
    };
    entry.nodegroups.push(nodegroup);
    hidden.nodegroupTokens.set(name, token);
    this.count(this.creates, `nodegroup/${region}/${clusterName}/${name}`);
    const failure = this.failureFor('createNodegroup', name);
    this.later(this.durations.createNodegroup, () => {
      if (failure) {
        nodegroup.status = 'CREATE_FAILED';
        nodegroup.health = { issues: [{ code: failure.code, message: failure.message, resourceIds: [`eks-${name}-asg`] }] };
        return;
      }
      nodegroup.status = 'ACTIVE';
    });
    return ok({ nodegroup });
  }

  /** A scaling config EKS accepts, or what is wrong with it. */
  private scalingProblem(value: unknown): { minSize: number; maxSize: number; desiredSize: number } | string {
    const scaling = (value ?? {}) as { minSize?: unknown; maxSize?: unknown; desiredSize?: unknown };
    const { minSize, maxSize, desiredSize } = scaling;
    if (!isPositiveInt(minSize) || !isPositiveInt(maxSize) || !isPositiveInt(desiredSize)) return 'scalingConfig needs whole minSize, maxSize and desiredSize of 0 or more';
    if (maxSize < 1) return 'Maximum capacity should be greater than or equal to 1';
    if (minSize > maxSize) return 'Minimum capacity cannot be greater than maximum capacity';
    if (desiredSize < minSize || desiredSize > maxSize) return 'Desired capacity must be between minimum and maximum capacity';
    return { minSize, maxSize, desiredSize };
  }

  private nodegroupOf(region: string, clusterName: string, name: string): { entry: EksStore; nodegroup: EksNodegroupBody } | StandinReply {
    const entry = this.find(region, clusterName);
    if (!entry) return notFound(`No cluster found for name: ${clusterName}.`);
    const nodegroup = entry.nodegroups.find((candidate) => candidate.nodegroupName === name);
    return nodegroup ? { entry, nodegroup } : notFound(`No node group found for name: ${name}.`);
  }

  private updateNodegroupConfig(region: string, clusterName: string, name: string, input: Json): StandinReply {
    const found = this.nodegroupOf(region, clusterName, name);
    if ('status' in found) return found;
    const { entry, nodegroup } = found;
    return this.runUpdate(entry, nodegroup, name, name, input, 'updateNodegroupConfig', () => {
      const scaling = this.scalingProblem(input.scalingConfig);
      if (typeof scaling === 'string') return invalidParameter(scaling);
      const current = nodegroup.scalingConfig as { minSize: number; maxSize: number; desiredSize: number };
      if (current.minSize === scaling.minSize && current.maxSize === scaling.maxSize && current.desiredSize === scaling.desiredSize) return invalidParameter('No changes needed');
      return {
        type: 'ConfigUpdate',
        params: [
          { type: 'MinSize', value: String(scaling.minSize) },
          { type: 'MaxSize', value: String(scaling.maxSize) },
          { type: 'DesiredSize', value: String(scaling.desiredSize) },
        ],
        apply: () => {
          nodegroup.scalingConfig = scaling;
        },
      };
    });
  }

  private updateNodegroupVersion(region: string, clusterName: string, name: string, input: Json): StandinReply {
    const found = this.nodegroupOf(region, clusterName, name);
    if ('status' in found) return found;
    const { entry, nodegroup } = found;
    return this.runUpdate(entry, nodegroup, name, name, input, 'updateNodegroupVersion', () => {
      if (entry.cluster.status !== 'ACTIVE') return inUse(`Cluster ${clusterName} is in ${String(entry.cluster.status)} state; its node groups cannot be updated now`);
      const clusterVersion = String(entry.cluster.version);
      const version = typeof input.version === 'string' ? input.version : clusterVersion;
      if (minorNumber(version) > minorNumber(clusterVersion)) return invalidParameter(`Requested Nodegroup version ${version} is newer than the cluster version ${clusterVersion}`);
      if (minorNumber(version) < minorNumber(String(nodegroup.version))) {
        return invalidParameter(`Requested Nodegroup version ${version} is older than the node group's version ${String(nodegroup.version)}`);
      }
      const releaseVersion = `${version}.0-20241201`;
      return {
        type: 'VersionUpdate',
        params: [
          { type: 'Version', value: version },
          { type: 'ReleaseVersion', value: releaseVersion },
        ],
        apply: () => {
          nodegroup.version = version;
          nodegroup.releaseVersion = releaseVersion;
        },
      };
    });
  }

  private deleteNodegroup(region: string, clusterName: string, name: string): StandinReply {
    const found = this.nodegroupOf(region, clusterName, name);
    if ('status' in found) return found;
    const { entry, nodegroup } = found;
    const status = String(nodegroup.status);
    if (status === 'CREATING' || status === 'UPDATING' || status === 'DELETING') return inUse(`Nodegroup ${name} is in ${status} state and cannot be deleted now`);
    nodegroup.status = 'DELETING';
    const failure = this.failureFor('deleteNodegroup', name);
    this.later(this.durations.deleteNodegroup, () => {
      if (failure) {
        nodegroup.status = 'DELETE_FAILED';
        nodegroup.health = { issues: [{ code: failure.code, message: failure.message, resourceIds: [`eks-${name}-asg`] }] };
        return;
      }
      const index = entry.nodegroups.indexOf(nodegroup);
      if (index >= 0) entry.nodegroups.splice(index, 1);
    });
    return ok({ nodegroup });
  }
}
