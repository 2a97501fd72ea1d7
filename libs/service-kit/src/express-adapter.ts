import http from 'node:http';
import https from 'node:https';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';

/** What Express adds to a request and a response: its app's prototypes for them. */
interface ExpressPrototypes {
  request: object;
  response: object;
}

/**
 * Nest's Express adapter, with an HTTP server that makes every request and response with the
 * Express app's own prototypes. Express re-parents both on every request
 * (`Object.setPrototypeOf` in `app.handle`); V8 then keeps what each request allocated alive
 * through young-generation collections until a full one. In a service answering one request at a
 * time, about 2.5 MB survived every scavenge, and each took 5 to 20 ms instead of under one (the
 * inventory's list pages' p99). Made with those prototypes from the start, the re-parenting
 * changes nothing and nothing survives.
 */
export class PrototypedExpressAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    // Connection tracking and closing answers are the base's own (private); the services use neither.
    if (options.forceCloseConnections || options.return503OnClosing) {
      super.initHttpServer(options);
      return;
    }
    const app = this.getInstance<ExpressPrototypes>();
    const classes = { IncomingMessage: withPrototype(http.IncomingMessage, app.request), ServerResponse: withPrototype(http.ServerResponse, app.response) };
    const listener = this.getInstance<http.RequestListener>();
    this.setHttpServer(options.httpsOptions ? https.createServer({ ...options.httpsOptions, ...classes }, listener) : http.createServer(classes, listener));
  }
}

/**
 * Node's constructors are plain functions, so a function calling them on an object with another
 * prototype makes the same object with that prototype. A class would not do: a derived class's
 * instances were allocated so that they survived young collections as well.
 */
function withPrototype<T extends abstract new (...args: never[]) => object>(base: T, prototype: object): T {
  const init = base as unknown as (this: object, ...args: unknown[]) => void;
  function Made(this: object, ...args: unknown[]): void {
    init.call(this, ...args);
  }
  Made.prototype = prototype;
  return Made as unknown as T;
}
