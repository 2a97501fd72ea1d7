/** Backoff for transient failures: grows with each delivery, never beyond `maxDelayMs`. */
export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Delay before the next delivery after delivery number `deliveryCount` (1-based) failed. */
export function nakDelayMs(deliveryCount: number, policy: RetryPolicy): number {
  const exponent = Math.max(0, Math.min(deliveryCount - 1, 30));
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
}

export type FailureDecision = { action: 'retry'; delayMs: number } | { action: 'dead-letter'; code: 'handler-rejected' | 'max-deliveries-exceeded' };

/** What to do with a message whose handler failed. */
export function decideOnFailure(input: { permanent: boolean; deliveryCount: number; maxDeliver: number; policy: RetryPolicy }): FailureDecision {
  if (input.permanent) return { action: 'dead-letter', code: 'handler-rejected' };
  if (input.deliveryCount >= input.maxDeliver) return { action: 'dead-letter', code: 'max-deliveries-exceeded' };
  return { action: 'retry', delayMs: nakDelayMs(input.deliveryCount, input.policy) };
}
