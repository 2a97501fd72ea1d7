import { SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { Role } from '../roles.js';

export const ACCESS_METADATA = 'flotilla:access';

export type AccessRule =
  | {
      kind: 'role';
      role: Role;
      /**
       * The handler checks each cluster against the caller's label scope itself (and lists only
       * clusters in scope), so label-scoped tokens may use the route. Routes without it refuse
       * label-scoped tokens: they act beyond single clusters.
       */
      scoped: boolean;
    }
  | { kind: 'public'; reason: string };

/** The role a route needs. Every route declares one, or is `@Public`; the guard refuses the rest. */
export const Access = (role: Role, options: { scoped?: boolean } = {}): MethodDecorator & ClassDecorator =>
  SetMetadata(ACCESS_METADATA, { kind: 'role', role, scoped: options.scoped ?? false } satisfies AccessRule);

/** A route anyone may call (health probes): the reason is the documentation. */
export const Public = (reason: string): MethodDecorator & ClassDecorator => SetMetadata(ACCESS_METADATA, { kind: 'public', reason } satisfies AccessRule);

/** The rule of a handler: its own, else its controller's. */
export function accessRuleOf(reflector: Reflector, context: Pick<ExecutionContext, 'getHandler' | 'getClass'>): AccessRule | undefined {
  return reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_METADATA, [context.getHandler(), context.getClass()]);
}
