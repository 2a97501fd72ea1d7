/**
 * The throttle gate of one cloud account: no call with it before `notBefore`. One gate per
 * (provider, credential ref) for the whole service, kept in the database so every replica
 * honours what the cloud said to any of them.
 */
export interface ThrottleGate {
  provider: string;
  credentialRef: string;
  notBefore: Date;
}

/**
 * The gate after a throttled answer: the cloud's Retry-After when it gave one, else `fallbackMs`;
 * never earlier than a gate already set (another replica may have heard a longer wait).
 */
export function closeGate(current: Date | null, now: Date, retryAfterMs: number | undefined, fallbackMs: number): Date {
  const wait = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? retryAfterMs : fallbackMs;
  const until = new Date(now.getTime() + wait);
  return current !== null && current > until ? current : until;
}

/** Whether calls may go out now; when not, the time they may. */
export function gateOpen(notBefore: Date | null, now: Date): { open: true } | { open: false; at: Date } {
  return notBefore === null || notBefore <= now ? { open: true } : { open: false, at: notBefore };
}

/** Clusters held by a closed gate come back spread over this share of the wait, so they do not all call the moment it opens... */
export const GATE_REOPEN_SPREAD = 0.5;
/** ...and over no more than this. */
export const MAX_GATE_REOPEN_SPREAD_MS = 30_000;

/**
 * When a cluster held by the gate (until `at`) is looked at again: after the gate opens, by a share
 * of the spread fixed by its id (a hash), so the clusters of one account reopen one after another.
 */
export function heldUntil(at: Date, now: Date, clusterId: string): Date {
  const spread = Math.min(MAX_GATE_REOPEN_SPREAD_MS, Math.max(0, at.getTime() - now.getTime()) * GATE_REOPEN_SPREAD);
  let hash = 0x811c9dc5;
  for (let i = 0; i < clusterId.length; i += 1) hash = Math.imul(hash ^ clusterId.charCodeAt(i), 0x01000193);
  // MurmurHash3's finaliser: ids differing in their last character land far apart.
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  hash = (hash ^ (hash >>> 16)) >>> 0;
  return new Date(at.getTime() + Math.floor((spread * hash) / 0x1_0000_0000));
}
