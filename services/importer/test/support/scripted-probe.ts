import type { ClusterProbe, ProbeOutcome, ProbeTarget } from '../../src/connectivity/cluster-probe.js';

/**
 * A test stand-in for the connectivity check: answers what the test scripted per cluster id and
 * records what it was asked. Lets the worker's path to ClusterImported run for real.
 */
export class ScriptedClusterProbe implements ClusterProbe {
  readonly asked: ProbeTarget[] = [];

  constructor(private readonly answers: Record<string, ProbeOutcome>) {}

  async probe(target: ProbeTarget): Promise<ProbeOutcome> {
    this.asked.push(target);
    return this.answers[target.clusterId] ?? { ok: false, failures: [{ code: 'api-server-unreachable', message: `nothing scripted for ${target.clusterId}` }] };
  }
}
