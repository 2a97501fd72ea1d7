import { ForbiddenException, Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { describeScope, type Principal } from '../principal.js';
import { roleAllows } from '../roles.js';
import { AuthenticationError, AuthorizationError } from '../verification/errors.js';
import { TokenVerifier } from '../verification/token-verifier.js';
import { accessRuleOf } from './access.decorator.js';
import type { AuthenticatedRequest } from './request.js';

interface HeaderSettable {
  setHeader(name: string, value: string): unknown;
}

export const REALM = 'flotilla';

/**
 * Every HTTP route of every service: the caller's token is verified here, in the service itself,
 * whatever proxy is in front. A route that declares no rule is refused (fail closed).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // Bus handlers are controllers too; the bus has its own permissions.
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const response = context.switchToHttp().getResponse<HeaderSettable>();
    const params = request.params ?? {};
    const route = request.route?.path;
    const clusterId = params['clusterId'] ?? (route && /\/clusters\/:id(\/|$)/.test(route) ? params['id'] : undefined);
    request.audit = { ...request.audit, ...(route ? { route } : {}), ...(clusterId ? { clusterId } : {}) };

    const rule = accessRuleOf(this.reflector, context);
    if (rule?.kind === 'public') return true;
    if (!rule) return this.forbid(request, 'this route declares no role, so nobody may use it');

    let principal: Principal;
    try {
      principal = await this.verifier.authenticate(firstHeader(request.headers['authorization']));
    } catch (error) {
      if (error instanceof AuthorizationError) return this.forbid(request, error.message);
      const reason = error instanceof AuthenticationError ? error.message : 'token could not be verified';
      request.audit.refusal = reason;
      // RFC 6750: no error code when no credentials were sent at all.
      const challenge = firstHeader(request.headers['authorization']) ? `Bearer realm="${REALM}", error="invalid_token", error_description="${headerSafe(reason)}"` : `Bearer realm="${REALM}"`;
      response.setHeader('WWW-Authenticate', challenge);
      throw new UnauthorizedException({ statusCode: 401, error: 'Unauthorized', message: reason });
    }
    request.principal = principal;
    request.audit.principal = principal;
    if (!roleAllows(principal.role, rule.role)) {
      return this.forbid(request, `this needs the ${rule.role} role; ${principal.subject} has ${principal.role}`, { requiredRole: rule.role });
    }
    if (principal.scope && !rule.scoped) {
      return this.forbid(request, `${principal.subject} may act only on clusters labelled ${describeScope(principal.scope)}; this route is not limited to such clusters`, { requiredScope: 'fleet' });
    }
    return true;
  }

  private forbid(request: AuthenticatedRequest, message: string, detail: Record<string, string> = {}): never {
    request.audit = { ...request.audit, refusal: message };
    throw new ForbiddenException({ statusCode: 403, error: 'Forbidden', message, ...detail });
  }
}

/** RFC 6750's error_description allows printable ASCII but `"` and `\`; a header must never throw. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?').slice(0, 200);
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Refuses a cluster outside the caller's label scope, as if the route demanded a wider scope. */
export function forbidOutOfScope(principal: Principal, clusterId: string): never {
  throw new ForbiddenException({ statusCode: 403, error: 'Forbidden', message: `${principal.subject} may act only on clusters labelled ${describeScope(principal.scope)}; cluster "${clusterId}" is not one`, requiredScope: describeScope(principal.scope) });
}
