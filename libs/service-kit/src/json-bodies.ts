import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, UnsupportedMediaTypeException, type CallHandler, type ExecutionContext, type INestApplication, type NestInterceptor } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { isJsonMediaType } from '@flotilla/contracts';
import type { FieldProblem } from './openapi/error-bodies.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** An error body-parser answers with its own status. */
class InvalidBody extends Error {
  readonly status = 400;
  readonly expose = true;
}

/**
 * Request bodies are JSON in UTF-8. Left to itself the parser replaces bytes that are not UTF-8
 * with U+FFFD and goes on, so a corrupted body would be stored as if it were what the caller
 * sent: such a body is refused with 400 instead. Installed after the service's own middleware
 * (the Kubernetes relays stream bodies through untouched).
 */
export function useStrictJsonBodies(app: INestApplication): void {
  (app as NestExpressApplication).useBodyParser('json', {
    verify: (_request: IncomingMessage, _response: ServerResponse, body: Buffer) => {
      try {
        strictUtf8.decode(body);
      } catch {
        throw new InvalidBody('the request body is not valid UTF-8');
      }
    },
  });
}

/**
 * A request that sends a body sends JSON: any other content type is answered 415, after
 * authentication and before validation (the parser leaves such a body unread, and validating
 * nothing would blame the fields instead of the content type).
 */
@Injectable()
export class JsonBodyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): ReturnType<CallHandler['handle']> {
    if (context.getType() === 'http') {
      const request = context.switchToHttp().getRequest<IncomingMessage>();
      const sendsBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
      const contentType = request.headers['content-type'] ?? '';
      if (sendsBody && !isJsonMediaType(contentType)) {
        const message = `content-type ${contentType ? JSON.stringify(contentType) : 'missing'}: the body must be application/json`;
        const errors: FieldProblem[] = [{ field: 'content-type', message }];
        throw new UnsupportedMediaTypeException({ statusCode: 415, error: 'Unsupported Media Type', message: [message], errors });
      }
    }
    return next.handle();
  }
}
