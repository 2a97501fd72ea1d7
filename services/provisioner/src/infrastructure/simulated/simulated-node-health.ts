import type { DataSource } from 'typeorm';
import type { JoinRequest, JoinResult, NodeRef } from '../../bootstrap/node-bootstrapper.js';
import { SimulatedBootstrapper } from '../../bootstrap/simulated.bootstrapper.js';
import { Coalescer } from '../../repositories/coalescer.js';
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
  /** The health checks of one turn in one statement: a Running fleet is checked every interval. */
  private readonly health = new Coalescer<{ clusterId: string; name: string }, boolean>((nodes) => this.readHealth(nodes));

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
    return this.health.load({ clusterId: node.clusterId, name: node.name });
  }

  /** Each node's flag, false for a machine that is gone. */
  private async readHealth(nodes: readonly { clusterId: string; name: string }[]): Promise<boolean[]> {
    const rows = await this.dataSource.query<{ cluster_id: string; name: string; healthy: boolean }[]>(
      `SELECT m.cluster_id, m.name, m.healthy
         FROM unnest($1::text[], $2::text[]) AS k(cluster_id, name)
         CROSS JOIN LATERAL (SELECT cluster_id, name, healthy FROM sim_machines WHERE cluster_id = k.cluster_id AND name = k.name OFFSET 0) m`,
      [nodes.map((node) => node.clusterId), nodes.map((node) => node.name)],
    );
    const healthy = new Map(rows.map((row) => [`${row.cluster_id}\0${row.name}`, row.healthy]));
    return nodes.map((node) => healthy.get(`${node.clusterId}\0${node.name}`) ?? false);
  }
}
