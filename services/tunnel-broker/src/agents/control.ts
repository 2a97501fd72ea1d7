import type { ClientHttp2Session } from 'node:http2';

/** The authority of the broker's own requests to an agent: never a Kubernetes API request's. */
export const CONTROL_AUTHORITY = 'control.flotilla';

const CONTROL_TIMEOUT_MS = 10_000;

/** Sends one command to an agent over its tunnel; resolves with the agent's status. */
export function sendControl(session: ClientHttp2Session, method: 'PUT' | 'POST', path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': method, ':path': path, ':authority': CONTROL_AUTHORITY, ...(body === undefined ? {} : { 'content-type': 'application/x-pem-file' }) });
    const timer = setTimeout(() => stream.close(), CONTROL_TIMEOUT_MS);
    let status = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('error', (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
    stream.on('close', () => {
      clearTimeout(timer);
      if (status === 0) reject(new Error(`the agent did not answer ${method} ${path}`));
      else resolve(status);
    });
    stream.resume();
    stream.end(body);
  });
}
