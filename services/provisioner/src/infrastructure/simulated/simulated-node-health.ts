import type { DataSource } from 'typeorm';
import type { NodeRef } from '../../bootstrap/node-bootstrapper.js';
import { SimulatedBootstrapper } from '../../bootstrap/simulated.bootstrapper.js';
import { simulatedFailure } from './simulation.js';

/**
 * The nodes of the simulated cloud's machines: they join like the simulated bootstrapper's, and
 * are Ready while their `sim_machines.healthy` flag is set (tests clear it to make a node
 * NotReady) and the machine exists. A share `unhealthyRate` of nodes is never Ready, drawn from
 * the seed and the machine name, so a replacement (a new name) draws again.
 */
export class SimulatedNodeHealth extends SimulatedBootstrapper {
  constructor(
    private readonly dataSource: DataSource,
    private readonly settings: { seed: string; unhealthyRate: number },
  ) {
    super();
  }

  override async nodeReady(node: NodeRef): Promise<boolean> {
    if (simulatedFailure(this.settings.seed, node.clusterId, `${node.name}#unhealthy`, this.settings.unhealthyRate)) return false;
    const rows = await this.dataSource.query<{ healthy: boolean }[]>(`SELECT healthy FROM sim_machines WHERE cluster_id = $1 AND name = $2`, [node.clusterId, node.name]);
    return rows[0]?.healthy ?? false;
  }
}
