/**
 * The three roles, each including the ones before it:
 * - `viewer` reads everything but secrets;
 * - `operator` creates, imports, scales, upgrades and deletes clusters, asks for plans, hands out
 *   registrations;
 * - `admin` manages credentials, SSH keys, host keys, management clusters, the support matrix and
 *   tokens.
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether a caller holding `held` may use a route that needs `needed`. */
export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}
