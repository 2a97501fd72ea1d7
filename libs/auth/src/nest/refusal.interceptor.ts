import { ForbiddenException, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { catchError, type Observable } from 'rxjs';
import type { AuthenticatedRequest } from './request.js';

/**
 * Notes why a handler refused a caller (a cluster outside its label scope), for the audit
 * trail: the guard notes its own refusals, this one those decided in the handler.
 */
@Injectable()
export class RefusalInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((error: unknown) => {
        if (context.getType() === 'http' && error instanceof ForbiddenException) {
          const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
          request.audit = { ...request.audit, refusal: error.message };
        }
        throw error;
      }),
    );
  }
}
