import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { forwardableHeaders } from '@flotilla/tunnel';

/** Set on a request one replica forwards to another: the other serves it from its own agents or answers 503, never forwards again. */
export const FORWARDED_BY_HEADER = 'flotilla-forwarded-by';

export interface Relayed {
  status: number;
  bytesIn: number;
  bytesOut: number;
}

function open(target: URL, incoming: IncomingMessage, headers: Record<string, string | string[] | undefined>) {
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return send({ protocol: target.protocol, hostname: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers });
}

/**
 * Sends a request to the replica holding the cluster's agent, as it came (the caller's token
 * included: that replica authenticates and authorises it again), and streams the answer back.
 */
export function forwardToReplica(replicaUrl: string, replicaId: string, incoming: IncomingMessage, response: ServerResponse): Promise<Relayed> {
  return new Promise((resolve) => {
    let bytesIn = 0;
    let bytesOut = 0;
    const outgoing = open(new URL(replicaUrl), incoming, { ...forwardableHeaders(incoming.headers), host: incoming.headers.host, [FORWARDED_BY_HEADER]: replicaId } as Record<string, string>);
    incoming.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
    incoming.pipe(outgoing);
    outgoing.on('response', (answer) => {
      response.writeHead(answer.statusCode ?? 502, forwardableHeaders(answer.headers));
      response.flushHeaders();
      answer.on('data', (chunk: Buffer) => (bytesOut += chunk.length));
      answer.pipe(response);
      answer.once('end', () => resolve({ status: answer.statusCode ?? 502, bytesIn, bytesOut }));
      answer.once('error', () => resolve({ status: answer.statusCode ?? 502, bytesIn, bytesOut }));
    });
    outgoing.on('error', (error) => {
      if (!response.headersSent) {
        response.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 502, error: 'Bad Gateway', code: 'replica-unreachable', message: `the broker replica holding the cluster's agent did not answer: ${error.message}` }));
      } else response.destroy(error);
      resolve({ status: 502, bytesIn, bytesOut });
    });
    // The caller went away (a watch closed): so does the request to the other replica.
    response.once('close', () => outgoing.destroy());
  });
}

/** The same for an upgrade (exec, attach, port-forward): the other replica's 101 and the bytes after it are relayed as they are. */
export function forwardUpgradeToReplica(replicaUrl: string, replicaId: string, incoming: IncomingMessage, socket: Duplex, head: Buffer): Promise<Relayed> {
  return new Promise((resolve) => {
    let bytesIn = head.length;
    let bytesOut = 0;
    const headers = { ...incoming.headers, [FORWARDED_BY_HEADER]: replicaId };
    const outgoing = open(new URL(replicaUrl), incoming, headers);
    const done = (status: number) => resolve({ status, bytesIn, bytesOut });
    outgoing.on('upgrade', (answer, upstream, upstreamHead) => {
      const lines = [`HTTP/1.1 ${answer.statusCode ?? 101} ${answer.statusMessage ?? 'Switching Protocols'}`];
      for (let i = 0; i < answer.rawHeaders.length; i += 2) lines.push(`${answer.rawHeaders[i]}: ${answer.rawHeaders[i + 1]}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstream.write(head);
      socket.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
      upstream.on('data', (chunk: Buffer) => (bytesOut += chunk.length));
      socket.pipe(upstream).pipe(socket);
      const close = () => {
        socket.destroy();
        upstream.destroy();
        done(101);
      };
      socket.once('close', close);
      upstream.once('close', close);
      socket.once('error', close);
      upstream.once('error', close);
    });
    outgoing.on('response', (answer) => {
      // Refused before the upgrade: the answer goes back as it is.
      const lines = [`HTTP/1.1 ${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}`];
      for (let i = 0; i < answer.rawHeaders.length; i += 2) if (!/^(connection|transfer-encoding)$/i.test(answer.rawHeaders[i]!)) lines.push(`${answer.rawHeaders[i]}: ${answer.rawHeaders[i + 1]}`);
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        bytesOut = body.length;
        socket.end(Buffer.concat([Buffer.from(`${lines.filter((line) => !/^content-length:/i.test(line)).join('\r\n')}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`), body]));
        done(answer.statusCode ?? 502);
      });
    });
    outgoing.on('error', (error) => {
      const body = JSON.stringify({ statusCode: 502, error: 'Bad Gateway', code: 'replica-unreachable', message: `the broker replica holding the cluster's agent did not answer: ${error.message}` });
      socket.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      done(502);
    });
    outgoing.end();
  });
}
