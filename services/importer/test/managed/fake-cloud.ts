import type { AwsAccount } from '../../src/clouds/accounts.js';
import { CloudError } from '../../src/clouds/errors.js';
import {
  OWNERSHIP_TAG,
  type CloudClusterSpec,
  type CloudLifecycle,
  type CloudNodeGroupSpec,
  type CloudOperation,
  type CloudOperationStatus,
  type CloudPlace,
  type CloudResourceState,
  type CloudTarget,
  type ObservedCloudCluster,
  type ObservedCloudNodeGroup,
} from '../../src/clouds/lifecycle.js';

interface Resource {
  state: CloudResourceState;
  /** When the state in progress ends (ms since epoch). */
  until: number;
  /** The state it reaches then (null: gone). */
  then: CloudResourceState | null;
}

interface FakeCluster extends Resource {
  version: string;
  owner: string | null;
  groups: Map<string, FakeGroup>;
}

interface FakeGroup extends Resource {
  version: string;
  spec: CloudNodeGroupSpec;
}

/**
 * A cloud in memory with EKS's rules, for the reconciler's tests until every cloud's stand-in has
 * lifecycle endpoints: resources move CREATING -> ACTIVE after `durationMs`, a node group cannot be
 * created before its cluster is ready, a cluster with node groups cannot be deleted, a node group
 * never runs ahead of its control plane, upgrades go one minor at a time, and a repeated create
 * with the same request token is the same create (EKS clientRequestToken). Counts every create.
 */
export class FakeCloud implements CloudLifecycle<AwsAccount> {
  readonly provider = 'eks' as const;
  readonly clusters = new Map<string, FakeCluster>();
  readonly creates = new Map<string, number>();
  readonly calls: { name: string; at: number }[] = [];
  offered = ['1.30', '1.31', '1.32'];
  durationMs = 150;
  /** Throttle the next `throttleNext` calls with this Retry-After. */
  throttleNext = 0;
  throttleRetryAfterMs = 1_000;
  readonly throttledAt: number[] = [];
  /** Fail the next `failNext` calls (after any throttled ones) as a cloud that does not answer. */
  failNext = 0;
  /** The last request token of each create and upgrade: a repeat with it is the same request. */
  private readonly tokens = new Map<string, string>();

  private tick(resource: Resource, now = Date.now()): void {
    if (resource.then !== null && resource.state !== resource.then && now >= resource.until) resource.state = resource.then;
  }

  private call(name: string): void {
    this.calls.push({ name, at: Date.now() });
    if (this.throttleNext > 0) {
      this.throttleNext -= 1;
      this.throttledAt.push(Date.now());
      throw new CloudError('cloud-throttled', `eks ${name}: Rate exceeded`, undefined, this.throttleRetryAfterMs);
    }
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new CloudError('cloud-unreachable', `eks ${name}: connect ETIMEDOUT`);
    }
  }

  private key(target: CloudTarget): string {
    return `${target.provider === 'eks' ? target.region : 'elsewhere'}/${target.clusterName}`;
  }

  private live(target: CloudTarget): FakeCluster | undefined {
    const cluster = this.clusters.get(this.key(target));
    if (cluster === undefined) return undefined;
    this.tick(cluster);
    if (cluster.state === 'deleting' && Date.now() >= cluster.until) {
      this.clusters.delete(this.key(target));
      return undefined;
    }
    for (const [name, group] of cluster.groups) {
      this.tick(group);
      if (group.state === 'deleting' && Date.now() >= group.until) cluster.groups.delete(name);
    }
    return cluster;
  }

  private counted(what: string): void {
    this.creates.set(what, (this.creates.get(what) ?? 0) + 1);
  }

  private sameRequest(what: string, token: string): boolean {
    const seen = this.tokens.get(what);
    this.tokens.set(what, token);
    return seen === token;
  }

  private progress(resource: Resource, state: CloudResourceState, then: CloudResourceState | null): void {
    resource.state = state;
    resource.then = then;
    resource.until = Date.now() + this.durationMs;
  }

  offeredVersions(_account: AwsAccount, _place: CloudPlace): Promise<string[]> {
    this.call('offeredVersions');
    return Promise.resolve([...this.offered]);
  }

  findCluster(_account: AwsAccount, target: CloudTarget): Promise<ObservedCloudCluster | null> {
    this.call('findCluster');
    const cluster = this.live(target);
    if (cluster === undefined) return Promise.resolve(null);
    return Promise.resolve({
      state: cluster.state,
      version: `${cluster.version}.4`,
      endpoint: cluster.state === 'creating' ? null : `https://${target.clusterName}.eks.example`,
      owner: cluster.owner,
      failure: null,
    });
  }

  createCluster(_account: AwsAccount, target: CloudTarget, spec: CloudClusterSpec, _groups: readonly CloudNodeGroupSpec[], requestToken: string): Promise<CloudOperation> {
    this.call('createCluster');
    const key = this.key(target);
    const existing = this.live(target);
    if (existing !== undefined) {
      if (this.sameRequest(`cluster/${key}`, requestToken)) return Promise.resolve(null);
      return Promise.reject(new CloudError('cloud-name-taken', `a cluster named ${target.clusterName} exists`));
    }
    if (!this.offered.includes(spec.kubernetesVersion)) return Promise.reject(new CloudError('cloud-version-not-offered', `${spec.kubernetesVersion} is not offered`));
    this.sameRequest(`cluster/${key}`, requestToken);
    this.counted(`cluster/${target.clusterName}`);
    const cluster: FakeCluster = { state: 'creating', then: 'ready', until: Date.now() + this.durationMs, version: spec.kubernetesVersion, owner: spec.tags[OWNERSHIP_TAG] ?? null, groups: new Map() };
    this.clusters.set(key, cluster);
    return Promise.resolve(null);
  }

  upgradeCluster(_account: AwsAccount, target: CloudTarget, version: string, requestToken: string): Promise<CloudOperation> {
    this.call('upgradeCluster');
    const cluster = this.need(target);
    if (cluster.state !== 'ready') {
      if (cluster.state === 'updating' && this.sameRequest(`upgrade/${this.key(target)}`, requestToken)) return Promise.resolve(`update-${requestToken}`);
      return Promise.reject(new CloudError('cloud-failed', `cluster ${target.clusterName} is ${cluster.state}: ResourceInUseException`));
    }
    const [, minor] = cluster.version.split('.').map(Number);
    if (version !== `1.${(minor ?? 0) + 1}`) return Promise.reject(new CloudError('cloud-failed', `upgrades go one minor at a time, ${cluster.version} -> ${version} is not allowed`));
    this.sameRequest(`upgrade/${this.key(target)}`, requestToken);
    cluster.version = version;
    this.progress(cluster, 'updating', 'ready');
    return Promise.resolve(`update-${requestToken}`);
  }

  deleteCluster(_account: AwsAccount, target: CloudTarget): Promise<CloudOperation> {
    this.call('deleteCluster');
    const cluster = this.live(target);
    if (cluster === undefined) return Promise.resolve(null);
    if (cluster.groups.size > 0) return Promise.reject(new CloudError('cloud-failed', `cluster ${target.clusterName} has node groups: ResourceInUseException`));
    if (cluster.state !== 'deleting') this.progress(cluster, 'deleting', null);
    return Promise.resolve(null);
  }

  findNodeGroup(account: AwsAccount, target: CloudTarget, name: string): Promise<ObservedCloudNodeGroup | null> {
    return this.listNodeGroups(account, target).then((groups) => groups.find((group) => group.name === name) ?? null);
  }

  listNodeGroups(_account: AwsAccount, target: CloudTarget): Promise<ObservedCloudNodeGroup[]> {
    this.call('listNodeGroups');
    const cluster = this.live(target);
    if (cluster === undefined) return Promise.reject(new CloudError('cloud-cluster-not-found', `no cluster ${target.clusterName}`));
    return Promise.resolve(
      [...cluster.groups.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, group]) => ({
          name,
          state: group.state,
          version: group.version,
          instanceType: group.spec.instanceType,
          minSize: group.spec.minSize,
          maxSize: group.spec.maxSize,
          desiredSize: group.spec.desiredSize,
          failure: null,
        })),
    );
  }

  createNodeGroup(_account: AwsAccount, target: CloudTarget, _spec: CloudClusterSpec, group: CloudNodeGroupSpec, requestToken: string): Promise<CloudOperation> {
    this.call('createNodeGroup');
    const cluster = this.need(target);
    if (cluster.state !== 'ready') return Promise.reject(new CloudError('cloud-failed', `cluster ${target.clusterName} is ${cluster.state}, not ACTIVE: InvalidRequestException`));
    const what = `${this.key(target)}/${group.name}`;
    if (cluster.groups.has(group.name)) {
      if (this.sameRequest(`group/${what}`, requestToken)) return Promise.resolve(null);
      return Promise.reject(new CloudError('cloud-name-taken', `node group ${group.name} exists`));
    }
    this.sameRequest(`group/${what}`, requestToken);
    this.counted(`group/${target.clusterName}/${group.name}`);
    cluster.groups.set(group.name, { state: 'creating', then: 'ready', until: Date.now() + this.durationMs, version: cluster.version, spec: { ...group } });
    return Promise.resolve(null);
  }

  scaleNodeGroup(_account: AwsAccount, target: CloudTarget, name: string, size: { minSize: number; maxSize: number; desiredSize: number }): Promise<CloudOperation> {
    this.call('scaleNodeGroup');
    const group = this.needGroup(target, name);
    if (group.state !== 'ready') return Promise.reject(new CloudError('cloud-failed', `node group ${name} is ${group.state}: ResourceInUseException`));
    if (size.minSize > size.desiredSize || size.desiredSize > size.maxSize) return Promise.reject(new CloudError('cloud-failed', 'desiredSize must be within minSize and maxSize'));
    group.spec = { ...group.spec, ...size };
    this.progress(group, 'updating', 'ready');
    return Promise.resolve(null);
  }

  upgradeNodeGroup(_account: AwsAccount, target: CloudTarget, name: string, version: string): Promise<CloudOperation> {
    this.call('upgradeNodeGroup');
    const cluster = this.need(target);
    const group = this.needGroup(target, name);
    if (version !== cluster.version) return Promise.reject(new CloudError('cloud-failed', `node group ${name} cannot run ${version} with a ${cluster.version} control plane`));
    if (group.state !== 'ready') return Promise.reject(new CloudError('cloud-failed', `node group ${name} is ${group.state}: ResourceInUseException`));
    group.version = version;
    this.progress(group, 'updating', 'ready');
    return Promise.resolve(null);
  }

  deleteNodeGroup(_account: AwsAccount, target: CloudTarget, name: string): Promise<CloudOperation> {
    this.call('deleteNodeGroup');
    const cluster = this.live(target);
    const group = cluster?.groups.get(name);
    if (group === undefined) return Promise.resolve(null);
    if (group.state === 'creating' || group.state === 'updating') return Promise.reject(new CloudError('cloud-failed', `node group ${name} is ${group.state}: ResourceInUseException`));
    if (group.state !== 'deleting') this.progress(group, 'deleting', null);
    return Promise.resolve(null);
  }

  operationStatus(_account: AwsAccount, target: CloudTarget, operation: string): Promise<CloudOperationStatus> {
    this.call('operationStatus');
    const cluster = this.live(target);
    if (cluster === undefined || !operation.startsWith('update-')) return Promise.resolve({ done: true, failure: null });
    return Promise.resolve(cluster.state === 'updating' ? { done: false } : { done: true, failure: null });
  }

  adoptCluster(_account: AwsAccount, target: CloudTarget, owner: string): Promise<void> {
    this.call('adoptCluster');
    const cluster = this.need(target);
    if (cluster.owner !== null && cluster.owner !== owner) return Promise.reject(new CloudError('cloud-name-taken', `cluster ${target.clusterName} belongs to Flotilla cluster ${cluster.owner}`));
    cluster.owner = owner;
    return Promise.resolve();
  }

  /** A cluster someone else made under a name (no ownership tag). */
  foreign(region: string, name: string): void {
    this.clusters.set(`${region}/${name}`, { state: 'ready', then: 'ready', until: 0, version: '1.31', owner: null, groups: new Map() });
  }

  private need(target: CloudTarget): FakeCluster {
    const cluster = this.live(target);
    if (cluster === undefined) throw new CloudError('cloud-cluster-not-found', `no cluster ${target.clusterName}`);
    return cluster;
  }

  private needGroup(target: CloudTarget, name: string): FakeGroup {
    const group = this.need(target).groups.get(name);
    if (group === undefined) throw new CloudError('cloud-cluster-not-found', `no node group ${name}`);
    return group;
  }
}
