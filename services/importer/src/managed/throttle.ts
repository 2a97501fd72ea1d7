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
