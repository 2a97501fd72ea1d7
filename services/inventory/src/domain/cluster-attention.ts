import type { ClusterView } from './cluster-view.js';

/**
 * Why a cluster needs an operator: it failed, the platform cannot reach it, the owner's latest
 * word about it is a refusal, or its tunnel is down. A deleted cluster needs nobody.
 */
export const ATTENTION_REASONS = ['failed', 'unreachable', 'refused', 'tunnel-disconnected'] as const;
export type AttentionReason = (typeof ATTENTION_REASONS)[number];

/** The reasons a cluster needs action, in the order of ATTENTION_REASONS; empty when none. */
export function attentionOf(view: ClusterView): AttentionReason[] {
  if (view.status === 'Deleted') return [];
  const reasons: AttentionReason[] = [];
  if (view.status === 'Failed') reasons.push('failed');
  if (view.reachable === false) reasons.push('unreachable');
  if (refusalUnanswered(view)) reasons.push('refused');
  if (view.tunnel === 'disconnected') reasons.push('tunnel-disconnected');
  return reasons;
}

/**
 * The cluster's last refusal is the newest thing known about it: nothing happened since (no
 * retry taken up, no later fact), so the refused request waits for someone to act.
 */
function refusalUnanswered(view: ClusterView): boolean {
  return view.lastRefusal !== null && Date.parse(view.lastRefusal.time) >= Date.parse(view.lastEventTime);
}

/**
 * How many of the cluster's nodes are Ready: while the provisioner reports progress, the
 * machines it counts ready (never more than the nodes known); otherwise every node of a Running
 * cluster and none of a cluster on its way.
 */
export function readyNodes(view: ClusterView): number {
  if (view.status === 'Deleted') return 0;
  if (view.progress) {
    const ready = view.progress.controlPlane.ready + view.progress.nodePools.reduce((sum, pool) => sum + pool.ready, 0);
    return Math.min(view.nodes.length, ready);
  }
  return view.status === 'Running' ? view.nodes.length : 0;
}
