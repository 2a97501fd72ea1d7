import type { DataSource } from 'typeorm';
import type { JoinRequest, JoinResult, NodeRef } from '../../bootstrap/node-bootstrapper.js';
import { SimulatedBootstrapper } from '../../bootstrap/simulated.bootstrapper.js';
import type { SimulatedClusters } from './simulated-clusters.js';
import { simulatedFailure } from './simulation.js';

/**
 * The nodes of the simulated cloud's machines. A machine booted with first-boot data joins as
 * its kubeadm does in its simulated cluster (`SimulatedClusters`): init, or a join the cluster
 * may refuse (an unknown or expired token, certificates gone); one without joins like the
 * simulated bootstrapper's. Nodes are Ready while their `sim_machines.healthy` flag is set
 * (tests clear it to make a node NotReady) and the machine exists. A share `unhealthyRate` of
 * nodes is never Ready, drawn from the seed and the machine name, so a replacement (a new name)
 * draws again.
 */
export class SimulatedNodeHealth extends SimulatedBootstrapper {
  constructor(
    private readonly dataSource: DataSource,
    private readonly settings: { seed: string; unhealthyRate: number },
    private readonly clusters: SimulatedClusters,
  ) {
    super();
  }

  override async joinNode(request: JoinRequest): Promise<JoinResult> {
    const join = await this.clusters.join(request.clusterId, request.name);
    switch (join?.state) {
      case undefined:
      case 'joined':
        return super.joinNode(request);
      case 'joining':
        return { state: 'joining' };
      case 'failed':
        return { state: 'failed', message: join.message };
    }
  }

  override async nodeReady(node: NodeRef): Promise<boolean> {
    if (simulatedFailure(this.settings.seed, node.clusterId, `${node.name}#unhealthy`, this.settings.unhealthyRate)) return false;
    const rows = await this.dataSource.query<{ healthy: boolean }[]>(`SELECT healthy FROM sim_machines WHERE cluster_id = $1 AND name = $2`, [node.clusterId, node.name]);
    return rows[0]?.healthy ?? false;
  }
}
