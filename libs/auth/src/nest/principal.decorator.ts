import { createParamDecorator, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import type { Principal } from '../principal.js';
import type { AuthenticatedRequest } from './request.js';

/** The authenticated caller of a route with an `@Access` rule. */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  // Only reachable on a @Public route, which has no caller.
  if (!principal) throw new UnauthorizedException('no authenticated caller');
  return principal;
});
