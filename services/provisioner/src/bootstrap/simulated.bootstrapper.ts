import { parseKubernetesVersion } from '@flotilla/contracts';
import type { JoinRequest, JoinResult, NodeBootstrapper, NodeRef, UpgradeRequest } from './node-bootstrapper.js';

/**
 * The simulated machines boot an image with the kubelet in it: the node joins as soon as the
 * machine is up, on the requested version (patch 0 when only a minor was asked for).
 */
export class SimulatedBootstrapper implements NodeBootstrapper {
  async joinNode(request: JoinRequest): Promise<JoinResult> {
    return { state: 'joined', kubeletVersion: kubeletVersionFor(request.kubernetesVersion) };
  }

  async nodeReady(_node: NodeRef): Promise<boolean> {
    return true;
  }

  async upgradeNode(request: UpgradeRequest): Promise<JoinResult> {
    return { state: 'joined', kubeletVersion: kubeletVersionFor(request.toVersion) };
  }

  async removeNode(_node: NodeRef): Promise<void> {}

  /** Platform machines are replaced, never rebooted: nothing asks this of them. */
  async rebootNode(node: NodeRef): Promise<void> {
    throw new Error(`${node.name}: platform machines are replaced, not rebooted`);
  }
}

export function kubeletVersionFor(requested: string): string {
  const parsed = parseKubernetesVersion(requested);
  if (!parsed.ok) return requested;
  const { major, minor, patch } = parsed.version;
  return `v${major}.${minor}.${patch ?? 0}`;
}
