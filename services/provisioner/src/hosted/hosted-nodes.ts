import type { JoinRequest, JoinResult, NodeBootstrapper, NodeRef, RemoveOptions, UpgradeRequest } from '../bootstrap/node-bootstrapper.js';
import type { TenantClusters } from './tenant-clusters.js';

/** A bootstrapper that may reboot users' hosts (optional here: hosted clusters' platform workers never are). */
type WithReboot = NodeBootstrapper & { rebootNode?(node: NodeRef): Promise<void> };

/**
 * The nodes of hosted clusters, whose control plane Flotilla does not run on a machine: a node
 * is what the hosted cluster's own API server shows (read with its admin kubeconfig). Platform
 * workers boot with first-boot data that joins them there; users' hosts are installed over SSH
 * (`hosts`) against the same endpoint. Nodes of every other cluster go to `others`.
 */
export class HostedClusterNodes implements NodeBootstrapper {
  constructor(
    private readonly tenants: Pick<TenantClusters, 'node' | 'deleteNode'>,
    private readonly hosts: WithReboot,
    private readonly others: WithReboot,
  ) {}

  async joinNode(request: JoinRequest): Promise<JoinResult> {
    if (!hosted(request)) return this.others.joinNode(request);
    if (request.host) return this.hosts.joinNode(request);
    // Its first boot runs kubeadm join; it is a node once it registered with the hosted API server.
    const node = await this.tenants.node(request.clusterId, request.name);
    if (!node) return { state: 'joining' };
    return node.kubeletVersion ? { state: 'joined', kubeletVersion: node.kubeletVersion } : { state: 'joining' };
  }

  async nodeReady(node: NodeRef): Promise<boolean> {
    if (!hosted(node)) return this.others.nodeReady(node);
    return (await this.tenants.node(node.clusterId, node.name))?.ready ?? false;
  }

  async upgradeNode(request: UpgradeRequest): Promise<JoinResult> {
    if (!hosted(request) || request.host) return (request.host ? this.hosts : this.others).upgradeNode(request);
    return { state: 'failed', message: `${request.name}: platform machines are replaced to upgrade, never upgraded in place` };
  }

  /** Out of the hosted cluster's API first (a host is reset after, over SSH). */
  async removeNode(node: NodeRef, options?: RemoveOptions): Promise<void> {
    if (!hosted(node)) return this.others.removeNode(node, options);
    await this.tenants.deleteNode(node.clusterId, node.name);
    if (node.host) await this.hosts.removeNode(node, options);
  }

  async rebootNode(node: NodeRef): Promise<void> {
    await (hosted(node) && node.host ? this.hosts : this.others).rebootNode?.(node);
  }
}

function hosted(node: NodeRef): boolean {
  return node.spec.model === 'hosted-control-plane';
}
