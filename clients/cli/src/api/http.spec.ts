import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CliError, ExitCode } from '../errors.js';
import { ApiClient } from './http.js';

/** A local API answering by path, recording the authorization it saw. */
const seen: { path: string; authorization: string | undefined; body: string }[] = [];
const routes: Record<string, (request: IncomingMessage, response: ServerResponse) => void> = {
  '/api/v1/ok': (_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"answer":42}'),
  '/api/v1/created': (_request, response) => response.writeHead(204).end(),
  '/api/v1/unauthorized': (_request, response) => response.writeHead(401, { 'content-type': 'application/json' }).end('{"statusCode":401,"message":"token expired"}'),
  '/api/v1/forbidden': (_request, response) => response.writeHead(403, { 'content-type': 'application/json' }).end('{"statusCode":403,"message":"admin role required"}'),
  '/api/v1/missing': (_request, response) => response.writeHead(404, { 'content-type': 'application/json' }).end('{"statusCode":404,"message":"cluster \\"x\\" not found"}'),
  '/api/v1/invalid': (_request, response) =>
    response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 400, message: ['nodePools.0.count: must be at most 1000'], errors: [{ field: 'nodePools.0.count', message: 'must be at most 1000' }] })),
  '/api/v1/down': (_request, response) => response.writeHead(502, { 'content-type': 'application/json' }).end('{"statusCode":502,"message":"provisioner is not answering"}'),
  '/api/v1/moved': (_request, response) => response.writeHead(307, { location: '/api/v1/ok?from=moved' }).end(),
  '/api/v1/away': (_request, response) => response.writeHead(307, { location: 'http://elsewhere.example/steal' }).end(),
};
const server = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk.toString()));
  request.on('end', () => {
    const path = (request.url ?? '').split('?')[0]!;
    seen.push({ path: request.url ?? '', authorization: request.headers.authorization, body });
    (routes[path] ?? ((_request, answer) => answer.writeHead(500).end()))(request, response);
  });
});
let base: URL;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = (token: string | undefined = 't0k') => new ApiClient({ server: base, token, caFile: undefined, traceUrl: undefined, contextName: undefined });

async function failure(promise: Promise<unknown>): Promise<CliError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CliError, String(error));
    return error;
  }
  assert.fail('resolved');
}

describe('ApiClient', () => {
  it('sends the bearer token and the JSON body, and parses the answer', async () => {
    assert.deepEqual(await client().json({ method: 'POST', path: '/api/v1/ok', body: { a: 1 }, query: { limit: 5, cursor: undefined } }), { answer: 42 });
    assert.deepEqual(seen.at(-1), { path: '/api/v1/ok?limit=5', authorization: 'Bearer t0k', body: '{"a":1}' });
    assert.equal(await client().json({ path: '/api/v1/created' }), undefined);
  });

  it('follows a redirect on the same origin, never to another one (the token stays home)', async () => {
    assert.deepEqual(await client().json({ path: '/api/v1/moved' }), { answer: 42 });
    assert.equal(seen.at(-1)?.path, '/api/v1/ok?from=moved');
    const refused = await failure(client().json({ path: '/api/v1/away' }));
    assert.match(refused.message, /redirected to another origin \(http:\/\/elsewhere\.example\); not followed/);
  });

  it('turns each failure into what to do, with its exit code', async () => {
    const unauthorized = await failure(client().json({ path: '/api/v1/unauthorized' }));
    assert.equal(unauthorized.exitCode, ExitCode.Unauthorized);
    assert.match(unauthorized.message, /not logged in, or the token was refused \(token expired\): run flotilla login --server http:\/\/127\.0\.0\.1:\d+ with a valid token/);
    const forbidden = await failure(client().json({ path: '/api/v1/forbidden' }));
    assert.deepEqual([forbidden.exitCode, forbidden.message], [ExitCode.Unauthorized, "not allowed: admin role required; the token's role or label scope does not cover this (ask an admin for a token that does)"]);
    const missing = await failure(client().json({ path: '/api/v1/missing' }));
    assert.deepEqual([missing.exitCode, missing.message], [ExitCode.NotFound, 'cluster "x" not found']);
    const invalid = await failure(client().json({ path: '/api/v1/invalid' }));
    assert.deepEqual([invalid.exitCode, invalid.message], [ExitCode.Failed, 'nodePools.0.count: must be at most 1000']);
    const down = await failure(client().json({ path: '/api/v1/down' }));
    assert.deepEqual([down.exitCode, down.message], [ExitCode.Unreachable, 'provisioner is not answering; try again when the service is back']);
  });

  it('hands back the statuses it is told to allow', async () => {
    assert.equal((await client().send({ path: '/api/v1/missing', allow: [404] })).status, 404);
  });

  it('names the address it could not reach, and a CA file it could not read', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = await failure(new ApiClient({ server: new URL(`http://127.0.0.1:${port}`), token: undefined, caFile: undefined, traceUrl: undefined, contextName: undefined }).json({ path: '/api/v1/ok' }));
    assert.equal(unreachable.exitCode, ExitCode.Unreachable);
    assert.match(unreachable.message, new RegExp(`cannot reach the Flotilla API at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
    assert.throws(() => new ApiClient({ server: base, token: undefined, caFile: '/no/such/ca.crt', traceUrl: undefined, contextName: undefined }), (error: unknown) => error instanceof CliError && error.exitCode === ExitCode.Usage && /CA file \/no\/such\/ca\.crt: ENOENT/.test(error.message));
  });
});
