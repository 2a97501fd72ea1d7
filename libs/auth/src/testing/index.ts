import type { INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import { ModulesContainer, Reflector } from '@nestjs/core';
import type { BusConnection } from '@flotilla/messaging';
import { AuthBucket } from '../auth-bucket.js';
import { accessRuleOf, type AccessRule } from '../nest/access.decorator.js';
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

export interface DeclaredRoute {
  controller: string;
  handler: string;
  method: string;
  /** Express-style path, e.g. `/api/v1/clusters/:id`. */
  path: string;
  rule: AccessRule | undefined;
}

/** Every HTTP route of an application with the access rule it declares. */
export function declaredRoutes(app: INestApplication): DeclaredRoute[] {
  const reflector = app.get(Reflector);
  const routes: DeclaredRoute[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (!controller) continue;
      const prefix = (Reflect.getMetadata(PATH_METADATA, controller) as string | undefined) ?? '';
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        if (name === 'constructor') continue;
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (typeof handler !== 'function') continue;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (path === undefined || method === undefined) continue; // not an HTTP route (bus handlers)
        for (const one of Array.isArray(path) ? path : [path]) {
          const full = `/${[prefix, one].map((part) => part.replace(/^\/|\/$/g, '')).filter((part) => part !== '').join('/')}`;
          routes.push({ controller: controller.name, handler: name, method: RequestMethod[method], path: full, rule: accessRuleOf(reflector, { getHandler: () => handler, getClass: () => controller as never }) });
        }
      }
    }
  }
  return routes;
}

/** A path for a route template, with every parameter filled in. */
export function samplePath(route: Pick<DeclaredRoute, 'path'>, values: Record<string, string> = {}): string {
  return route.path.replace(/:([A-Za-z0-9_]+)/g, (_match, name: string) => encodeURIComponent(values[name] ?? `sample-${name}`));
}
export * from './oidc-standin.js';
