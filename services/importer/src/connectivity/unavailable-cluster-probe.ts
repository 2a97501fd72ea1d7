import type { ClusterProbe, ProbeOutcome, ProbeTarget } from './cluster-probe.js';

/**
 * The probe this build ships: the check over @kubernetes/client-node is not written yet, so every
 * check is refused with that reason rather than pretending the cluster answered.
 */
export class UnavailableClusterProbe implements ClusterProbe {
  async probe(target: ProbeTarget): Promise<ProbeOutcome> {
    return {
      ok: false,
      failures: [
        {
          code: 'probe-unavailable',
          message: `connectivity checks against Kubernetes API servers are not implemented in this build of the importer, so ${target.clusterId} cannot be checked`,
        },
      ],
    };
  }
}
