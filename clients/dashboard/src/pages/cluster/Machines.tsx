import type { Cluster, ProvisionerCluster } from '../../api/types.js';
import { ColumnHeads } from '../../components/table.js';

/**
 * Pools and machines: the provisioner's machines with their phase for clusters it builds, else
 * the nodes the inventory knows (connected clusters).
 */
export function Machines({ cluster, provisioner }: { cluster: Cluster; provisioner: ProvisionerCluster | null }) {
  const pools = cluster.progress?.nodePools ?? [];
  return (
    <section aria-labelledby="machines-heading">
      <h2 id="machines-heading">Pools and machines</h2>
      {cluster.progress ? (
        <ul>
          <li>
            Control plane: {cluster.progress.controlPlane.ready} ready of {cluster.progress.controlPlane.total}
          </li>
          {pools.map((pool) => (
            <li key={pool.pool}>
              Pool {pool.pool}: {pool.ready} ready of {pool.total}
            </li>
          ))}
        </ul>
      ) : null}
      {provisioner ? (
        <table>
          <caption>Machines ({provisioner.machines.length})</caption>
          <ColumnHeads names={['Machine', 'Role', 'Pool', 'Size or host', 'Phase', 'Kubelet', 'Addresses']} />
          <tbody>
            {provisioner.machines.map((machine) => (
              <tr key={machine.name}>
                <th scope="row">{machine.name}</th>
                <td>{machine.role}</td>
                <td>{machine.pool ?? '—'}</td>
                <td>{machine.host ?? machine.machineSize ?? '—'}</td>
                <td>
                  {machine.phase}
                  {machine.failureReason ? `: ${machine.failureReason.message}` : ''}
                </td>
                <td>{machine.kubeletVersion ?? '—'}</td>
                <td>{machine.addresses.join(', ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <table>
          <caption>Nodes ({cluster.nodes.length})</caption>
          <ColumnHeads names={['Node', 'Role', 'Pool', 'Kubelet']} />
          <tbody>
            {cluster.nodes.map((node) => (
              <tr key={node.name}>
                <th scope="row">{node.name}</th>
                <td>{node.role}</td>
                <td>{node.pool ?? '—'}</td>
                <td>{node.kubeletVersion ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
