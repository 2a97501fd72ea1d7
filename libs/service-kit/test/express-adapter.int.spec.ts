import assert from 'node:assert/strict';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, Module, Req, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PrototypedExpressAdapter } from '../src/express-adapter.js';

@Controller('probe')
class ProbeController {
  @Get()
  probe(@Req() request: IncomingMessage & { app: { request: object } }): { sameAsApp: boolean; ip: string | undefined } {
    // Express's own request methods and properties are there, from the app's prototype.
    return { sameAsApp: Object.getPrototypeOf(request) === request.app.request, ip: (request as unknown as { ip?: string }).ip };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describe('the services\' Express adapter', () => {
  let app: INestApplication;
  let url: string;
  /** The prototypes of each request and response as the server made them, before Express saw them. */
  const made: { request: boolean; response: boolean }[] = [];

  before(async () => {
    const adapter = new PrototypedExpressAdapter();
    app = await NestFactory.create(ProbeModule, adapter, { logger: false });
    const express = adapter.getInstance<{ request: object; response: object }>();
    const server = app.getHttpServer() as Server;
    server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
      made.push({ request: Object.getPrototypeOf(request) === express.request, response: Object.getPrototypeOf(response) === express.response });
    });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await app.close();
  });

  it('makes each request and response with the app\'s prototypes, so Express has nothing to re-parent', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${url}/probe`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { sameAsApp: true, ip: '127.0.0.1' });
    }
    assert.deepEqual(made, Array.from({ length: 3 }, () => ({ request: true, response: true })));
  });
});
