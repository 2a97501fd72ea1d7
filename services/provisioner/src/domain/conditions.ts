/**
 * Conditions in the style of Kubernetes and Cluster API: one entry per type, a status, a
 * CamelCase reason and a message. The transition time moves only when the status changes, so it
 * says how long something has been true (or false).
 */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
  lastTransitionTime: string;
}

export type ConditionUpdate = Omit<Condition, 'lastTransitionTime'>;

export function setCondition(conditions: readonly Condition[], update: ConditionUpdate, at: string): Condition[] {
  const current = conditions.find((condition) => condition.type === update.type);
  const lastTransitionTime = current && current.status === update.status ? current.lastTransitionTime : at;
  // Built whole rather than spread and then trimmed: a deleted property turns the object into a
  // slow dictionary, and every decision about a cluster sets its conditions again.
  const { type, status, reason, message } = update;
  const next: Condition = message === undefined ? { type, status, reason, lastTransitionTime } : { type, status, reason, message, lastTransitionTime };
  return current ? conditions.map((condition) => (condition.type === update.type ? next : condition)) : [...conditions, next];
}

export function setConditions(conditions: readonly Condition[], updates: readonly ConditionUpdate[], at: string): Condition[] {
  return updates.reduce<Condition[]>((all, update) => setCondition(all, update, at), [...conditions]);
}

export function findCondition(conditions: readonly Condition[], type: string): Condition | undefined {
  return conditions.find((condition) => condition.type === type);
}
