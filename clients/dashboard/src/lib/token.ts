// What the dashboard may tell from a bearer token by itself: who it names and its role, to show
// them and to offer only what the role may do. The services verify every token; nothing here
// decides access.

export type TokenRole = 'viewer' | 'operator' | 'admin';

export interface TokenFacts {
  subject: string | null;
  /** Flotilla tokens carry their role; an OIDC token's comes from its groups, unknown here. */
  role: TokenRole | null;
  /** Seconds since the epoch, when the token says. */
  expiresAt: number | null;
}

const ROLES: readonly TokenRole[] = ['viewer', 'operator', 'admin'];

/** The claims of a JWT, unverified; undefined when `token` is not one. */
export function readToken(token: string): TokenFacts | undefined {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(decodeBase64Url(parts[1]));
  } catch {
    return undefined;
  }
  if (typeof claims !== 'object' || claims === null) return undefined;
  const record = claims as Record<string, unknown>;
  const role = ROLES.find((candidate) => candidate === record['role']) ?? null;
  return {
    subject: typeof record['sub'] === 'string' ? record['sub'] : null,
    role,
    expiresAt: typeof record['exp'] === 'number' ? record['exp'] : null,
  };
}

/** Whether `role` reaches `needed` (viewer < operator < admin); an unknown role is left to the API to judge. */
export function roleAllows(role: TokenRole | null, needed: TokenRole): boolean {
  if (role === null) return true;
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

function decodeBase64Url(text: string): string {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  const binary = atob(base64);
  return new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
}
