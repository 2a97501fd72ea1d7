import { request } from 'node:https';
import { ENROLLMENT_PATH, type Enrolled, type EnrollmentBody } from '@flotilla/tunnel';
import { parseTunnelAddress } from './credential.js';

export { ENROLLMENT_PATH, type Enrolled };
const TIMEOUT_MS = 30_000;
const MAX_ANSWER_BYTES = 1024 * 1024;

export interface EnrollmentRequest extends EnrollmentBody {
  tunnelUrl: URL;
  /** A private CA for the URL; the system's CAs otherwise. */
  ca: string | undefined;
}

/** Flotilla refused the registration token (unknown, used, expired, revoked): trying again soon will not help. */
export class TokenRefusedError extends Error {
  override readonly name = 'TokenRefusedError';

  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(`the registration token was refused (${status} ${code})`);
  }
}

/** Flotilla refused the request itself (a 4xx other than the token's): a fault of this agent or a mismatch of versions. */
export class EnrollmentRejectedError extends Error {
  override readonly name = 'EnrollmentRejectedError';

  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(`the enrollment was refused (${status}): ${detail}`);
  }
}

/** `POST /api/v1/tunnels/enrollments`: the token buys one certificate for the agent's key. Network and 5xx failures throw plain errors (worth retrying soon). */
export async function enroll(input: EnrollmentRequest): Promise<Enrolled> {
  const url = new URL(`${input.tunnelUrl.pathname.replace(/\/$/, '')}${ENROLLMENT_PATH}`, input.tunnelUrl);
  const body = JSON.stringify({ token: input.token, csr: input.csr, agentId: input.agentId, agentVersion: input.agentVersion });
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': `flotilla-tunnel-agent/${input.agentVersion}` },
        ...(input.ca ? { ca: input.ca } : {}),
        timeout: TIMEOUT_MS,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) response.destroy(new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(chunk);
        });
        response.once('error', reject);
        response.once('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    outgoing.once('timeout', () => outgoing.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    outgoing.once('error', reject);
    outgoing.end(body);
  });
  const answer = parseJson(text);
  if (status === 201) return enrolledFrom(answer);
  const code = typeof answer?.['code'] === 'string' ? answer['code'] : undefined;
  const message = typeof answer?.['message'] === 'string' ? answer['message'] : text.slice(0, 200);
  if (status === 404 || status === 410) throw new TokenRefusedError(status, code ?? (status === 404 ? 'token-unknown' : 'token-gone'));
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw new EnrollmentRejectedError(status, code ? `${code}: ${message}` : message);
  throw new Error(`Flotilla answered ${status} to the enrollment${message ? `: ${message}` : ''}`);
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function enrolledFrom(answer: Record<string, unknown> | undefined): Enrolled {
  const text = (field: string) => {
    const value = answer?.[field];
    if (typeof value !== 'string' || !value) throw new Error(`the enrollment answer has no ${field}`);
    return value;
  };
  const enrolled = { clusterId: text('clusterId'), certificate: text('certificate'), caCertificate: text('caCertificate'), tunnelAddress: text('tunnelAddress'), expiresAt: text('expiresAt') };
  if (!parseTunnelAddress(enrolled.tunnelAddress)) throw new Error(`the enrollment answer's tunnelAddress is not host:port: "${enrolled.tunnelAddress}"`);
  return enrolled;
}
