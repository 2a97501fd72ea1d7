import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { forwardableHeaders, isCallerCredential, kubernetesStatus } from '@flotilla/tunnel';
import type { ClusterEndpoint } from '../connectivity/cluster-access.js';
import { assertBound, bindingErrorIn, BoundAgent } from '../connectivity/credential-guard.js';

/** A request Flotilla answers itself, as a Kubernetes Status with Flotilla's code as the cause. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
  challenge?: string;
}

/** What one relayed request or upgrade came to, for its audit record. */
export interface Relayed {
  status: number;
  bytesIn: number;
  bytesOut: number;
  reason?: string;
}

/** Refusals as Kubernetes Status objects (kubectl shows the message), with the code as the cause. */
export function statusBody(refusal: Refusal): string {
  return JSON.stringify({ ...kubernetesStatus(refusal), details: { causes: [{ reason: refusal.code, message: refusal.message }] } });
}

export function respond(response: ServerResponse, refusal: Refusal): void {
  response.writeHead(refusal.status, { 'content-type': 'application/json', ...(refusal.challenge ? { 'www-authenticate': refusal.challenge } : {}) }).end(statusBody(refusal));
}

export function refuseUpgrade(socket: Duplex, refusal: Refusal): void {
  const body = statusBody(refusal);
  const challenge = refusal.challenge ? `www-authenticate: ${refusal.challenge}\r\n` : '';
  socket.end(`HTTP/1.1 ${refusal.status} ${refusal.code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${challenge}connection: close\r\n\r\n${body}`);
}

/**
 * The call to the API server with the importer's credential: only to the server (and CA) the
 * credential is bound to, over an agent that connects nowhere else, without the caller's own
 * credentials or impersonation headers. Throws CredentialBindingError otherwise.
 */
function boundCall(endpoint: ClusterEndpoint, request: IncomingMessage, path: string, extraHeaders: OutgoingHttpHeaders = {}) {
  assertBound(endpoint);
  const { auth } = endpoint;
  const agent = new BoundAgent(endpoint.boundTo, endpoint.credentialRef, {
    keepAlive: false,
    ...(endpoint.caCertificatePem === null ? {} : { ca: endpoint.caCertificatePem }),
    ...(auth.kind === 'client-certificate' ? { cert: auth.certificatePem, key: auth.privateKey.revealString() } : {}),
  });
  const headers: OutgoingHttpHeaders = { ...forwardableHeaders(request.headers, isCallerCredential), ...extraHeaders };
  if (auth.kind === 'bearer-token') headers['authorization'] = `Bearer ${auth.token.revealString()}`;
  return httpsRequest(`${endpoint.apiServer.replace(/\/+$/, '')}${path}`, { method: request.method ?? 'GET', headers, agent });
}

function unreachable(endpoint: ClusterEndpoint, error: unknown): Refusal {
  const refused = bindingErrorIn(error);
  if (refused) return { status: 502, code: refused.code, message: refused.message };
  return { status: 502, code: 'api-server-unreachable', message: `${endpoint.apiServer} did not answer (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
}

/** One request to the cluster's API server, streamed both ways; a caller who leaves ends it there. */
export async function forwardRequest(endpoint: ClusterEndpoint, request: IncomingMessage, response: ServerResponse, path: string): Promise<Relayed> {
  let bytesIn = 0;
  let bytesOut = 0;
  return new Promise<Relayed>((resolve) => {
    const failed = (error: unknown) => {
      const refusal = unreachable(endpoint, error);
      if (!response.headersSent) respond(response, refusal);
      else response.destroy();
      resolve({ status: refusal.status, bytesIn, bytesOut, reason: refusal.message });
    };
    let upstream: ReturnType<typeof boundCall>;
    try {
      upstream = boundCall(endpoint, request, path);
    } catch (error) {
      return failed(error);
    }
    upstream.on('response', (answer) => {
      response.writeHead(answer.statusCode ?? 502, forwardableHeaders(answer.headers));
      response.flushHeaders();
      answer.on('data', (chunk: Buffer) => (bytesOut += chunk.length));
      answer.pipe(response);
      answer.on('end', () => resolve({ status: answer.statusCode ?? 502, bytesIn, bytesOut }));
      answer.on('error', () => resolve({ status: answer.statusCode ?? 502, bytesIn, bytesOut, reason: 'the API server broke off its answer' }));
    });
    upstream.on('error', failed);
    // A caller who leaves (a watch ended with Ctrl-C) ends the call at the API server.
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    request.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
    request.pipe(upstream);
  });
}

/**
 * An upgrade (exec, attach, port-forward: WebSocket or SPDY) to the cluster's API server: its
 * 101 goes back to the caller with the API server's headers, then bytes flow untouched both ways
 * until either side ends. Another answer (a 403, a 400) goes back as it came.
 */
export async function forwardUpgrade(endpoint: ClusterEndpoint, request: IncomingMessage, socket: Duplex, head: Buffer, path: string): Promise<Relayed> {
  let bytesIn = head.length;
  let bytesOut = 0;
  return new Promise<Relayed>((resolve) => {
    const failed = (error: unknown) => {
      const refusal = unreachable(endpoint, error);
      refuseUpgrade(socket, refusal);
      resolve({ status: refusal.status, bytesIn, bytesOut, reason: refusal.message });
    };
    let upstream: ReturnType<typeof boundCall>;
    try {
      upstream = boundCall(endpoint, request, path, { connection: 'Upgrade', upgrade: String(request.headers.upgrade ?? '') });
    } catch (error) {
      return failed(error);
    }
    upstream.on('upgrade', (answer, upstreamSocket, upstreamHead) => {
      const lines = [`HTTP/1.1 101 ${answer.statusMessage ?? 'Switching Protocols'}`];
      for (let index = 0; index < answer.rawHeaders.length; index += 2) lines.push(`${answer.rawHeaders[index]}: ${answer.rawHeaders[index + 1]}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      socket.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
      upstreamSocket.on('data', (chunk: Buffer) => (bytesOut += chunk.length));
      socket.pipe(upstreamSocket);
      upstreamSocket.pipe(socket);
      let open = 2;
      const closed = () => {
        open -= 1;
        if (open === 0) resolve({ status: 101, bytesIn, bytesOut });
      };
      // A broken side ends the other at once; a clean end is passed on by the pipes.
      socket.once('close', () => (upstreamSocket.destroy(), closed()));
      upstreamSocket.once('close', () => (socket.destroy(), closed()));
      upstreamSocket.on('error', () => socket.destroy());
    });
    upstream.on('response', (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        bytesOut = body.length;
        const type = answer.headers['content-type'] ?? 'application/json';
        socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}\r\ncontent-type: ${String(type)}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`), body]));
        resolve({ status: answer.statusCode ?? 502, bytesIn, bytesOut });
      });
    });
    upstream.on('error', failed);
    upstream.end();
  });
}
