import type { BusConnection } from '@flotilla/messaging';
import { AuthBucket } from '../auth-bucket.js';
import type { DeclaredRoute } from '../nest/declared-routes.js';
import type { LabelScope } from '../principal.js';
import type { Role } from '../roles.js';
import { generateSigningKey, signToken, type SigningKey } from '../tokens.js';

export interface TestTokenOptions {
  subject?: string;
  scope?: LabelScope;
  /** Seconds from now; negative for an expired token. Default one hour. */
  expiresInS?: number;
  tokenId?: string;
}

/**
 * Issues Flotilla tokens for tests: its own signing key, published in the authentication bucket
 * of a bus prefix next to any other issuer's. The connection passed in may be closed afterwards.
 */
export class TestTokenIssuer {
  private constructor(private readonly key: SigningKey) {}

  static async publish(nc: BusConnection['nc'], prefix: string): Promise<TestTokenIssuer> {
    const bucket = await AuthBucket.open(nc, { prefix });
    const key = await generateSigningKey();
    await bucket.updateJwks((jwks) => ({ keys: [...jwks.keys, key.publicJwk as typeof key.publicJwk & { kid: string }] }));
    return new TestTokenIssuer(key);
  }

  /** A key nobody published: its tokens must be refused. */
  static async unpublishedKey(): Promise<SigningKey> {
    return generateSigningKey();
  }

  async token(role: Role, options: TestTokenOptions = {}): Promise<string> {
    return (await this.signed(this.key, role, options)).token;
  }

  async signed(key: SigningKey, role: Role, options: TestTokenOptions = {}): Promise<{ token: string; tokenId: string }> {
    return signToken(key, {
      subject: options.subject ?? `test-${role}`,
      role,
      expiresAt: new Date(Date.now() + (options.expiresInS ?? 3600) * 1000),
      ...(options.scope ? { scope: options.scope } : {}),
      ...(options.tokenId ? { tokenId: options.tokenId } : {}),
    });
  }
}

/** A path for a route template, with every parameter filled in. */
export function samplePath(route: Pick<DeclaredRoute, 'path'>, values: Record<string, string> = {}): string {
  return route.path.replace(/:([A-Za-z0-9_]+)/g, (_match, name: string) => encodeURIComponent(values[name] ?? `sample-${name}`));
}
export * from './oidc-standin.js';
export { declaredRoutes, type DeclaredRoute } from '../nest/declared-routes.js';
