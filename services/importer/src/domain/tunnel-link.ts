import { classify, type CloudEvent } from '@flotilla/contracts';

/**
 * The tunnel of one cluster as the tunnel broker reports it. Kept apart from the cluster itself:
 * an agent may connect before the importer has seen the cluster's import request (the two
 * arrive through different consumers, in no guaranteed order).
 */
export interface TunnelLink {
  clusterId: string;
  state: 'connected' | 'disconnected';
  agentId: string;
  agentVersion: string | null;
  /** Why it went down, as the broker said (e.g. `heartbeat-timeout`). */
  reason: string | null;
  /** Time of the event that set this state: older events arriving late are ignored. */
  since: string;
}

/** The next tunnel state after an event, or `undefined` when the event changes nothing. */
export function evolveTunnel(link: TunnelLink | undefined, event: CloudEvent): TunnelLink | undefined {
  const known = classify(event);
  if (!known) return undefined;
  if (known.name !== 'TunnelConnected' && known.name !== 'TunnelDisconnected') return undefined;
  // Redelivered or overtaken: a newer fact is already applied.
  if (link && event.time < link.since) return undefined;
  switch (known.name) {
    case 'TunnelConnected':
      return {
        clusterId: event.subject,
        state: 'connected',
        agentId: known.event.data.agentId,
        agentVersion: known.event.data.agentVersion ?? null,
        reason: null,
        since: event.time,
      };
    case 'TunnelDisconnected':
      return {
        clusterId: event.subject,
        state: 'disconnected',
        agentId: known.event.data.agentId,
        agentVersion: link?.agentVersion ?? null,
        reason: known.event.data.reason,
        since: event.time,
      };
  }
}
