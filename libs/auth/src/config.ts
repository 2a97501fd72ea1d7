import { z } from 'zod';
import { isRole, type Role } from './roles.js';

/** One OIDC group and what it grants: a role, and optionally a label scope. */
export interface GroupGrant {
  group: string;
  role: Role;
  labels?: Record<string, string>;
}

/**
 * `OIDC_GROUPS`: `group:role[:key=value;key=value],...`, e.g.
 * `platform-admins:admin,team-a:operator:team=a`. A caller in several groups gets the widest
 * grant: the highest role, and no scope if any unscoped group grants it.
 */
export function parseGroupGrants(text: string): GroupGrant[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const [group, role, labels, extra] = part.split(':');
      if (!group || !isRole(role) || extra !== undefined) throw new Error(`"${part}" must be group:role[:key=value;...] with role viewer, operator or admin`);
      if (labels === undefined) return { group, role };
      const pairs = labels.split(';').map((pair) => pair.split('='));
      if (pairs.some((pair) => pair.length !== 2 || !pair[0] || !pair[1])) throw new Error(`"${part}": labels must be key=value;key=value`);
      return { group, role, labels: Object.fromEntries(pairs) as Record<string, string> };
    });
}

const groupGrants = z.string().transform((text, context) => {
  try {
    return parseGroupGrants(text);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** Authentication variables every service reads (none turns authentication off). */
export const AuthConfig = z.object({
  /** An external OpenID Connect issuer whose tokens are accepted besides Flotilla's own. */
  OIDC_ISSUER_URL: z
    .url({ protocol: /^https$/, error: 'must be an https URL' })
    .optional(),
  /** The `aud` OIDC tokens must carry; required with OIDC_ISSUER_URL. */
  OIDC_AUDIENCE: z.string().min(1).optional(),
  /** The claim listing the caller's groups. */
  OIDC_GROUPS_CLAIM: z.string().min(1).default('groups'),
  OIDC_GROUPS: groupGrants.default([]),
  /** A PEM file of CAs to trust for the issuer besides the system's (a private issuer). */
  OIDC_CA_FILE: z.string().min(1).optional(),
  /** Clock skew tolerated on `exp`, `nbf` and `iat`. */
  AUTH_CLOCK_TOLERANCE_S: z.coerce.number().int().min(0).max(300).default(30),
});
export type AuthConfig = z.infer<typeof AuthConfig>;

/** Rules across the variables, checked after parsing (a refined object can no longer be extended). */
export function authConfigProblems(config: Partial<AuthConfig>): { name: string; message: string }[] {
  const problems: { name: string; message: string }[] = [];
  if (config.OIDC_ISSUER_URL && !config.OIDC_AUDIENCE) problems.push({ name: 'OIDC_AUDIENCE', message: 'is required with OIDC_ISSUER_URL' });
  if (config.OIDC_ISSUER_URL && (config.OIDC_GROUPS ?? []).length === 0) problems.push({ name: 'OIDC_GROUPS', message: 'must map at least one group to a role with OIDC_ISSUER_URL' });
  return problems;
}
