import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * AWS Signature Version 4, checked the way AWS does it, written here from the specification
 * (not with the SDK's signer) so a wrong signature from the product cannot agree with itself.
 */
export interface SignedParts {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  amzDate: string;
  signedHeaders: string[];
  signature: string;
}

const hex = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const rfc3986 = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The Authorization header form: `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`. */
export function partsFromHeader(headers: IncomingHttpHeaders): SignedParts | undefined {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(headers.authorization ?? '');
  const amzDate = headers['x-amz-date'];
  if (!match || typeof amzDate !== 'string') return undefined;
  const [, accessKeyId = '', date = '', region = '', service = '', signed = '', signature = ''] = match;
  return { accessKeyId, date, region, service, amzDate, signedHeaders: signed.split(';'), signature };
}

/** The presigned-URL form: X-Amz-* query parameters. */
export function partsFromQuery(query: URLSearchParams): SignedParts | undefined {
  const credential = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(query.get('X-Amz-Credential') ?? '');
  const amzDate = query.get('X-Amz-Date');
  const signed = query.get('X-Amz-SignedHeaders');
  const signature = query.get('X-Amz-Signature');
  if (query.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || !credential || !amzDate || !signed || !signature) return undefined;
  const [, accessKeyId = '', date = '', region = '', service = ''] = credential;
  return { accessKeyId, date, region, service, amzDate, signedHeaders: signed.split(';'), signature };
}

export interface RequestToVerify {
  method: string;
  rawPath: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

/** True when `parts.signature` is the signature of the request with this secret key. */
export function signatureIsValid(request: RequestToVerify, parts: SignedParts, secretAccessKey: string): boolean {
  const query = [...request.query.entries()]
    .filter(([key]) => key !== 'X-Amz-Signature')
    .map(([key, value]) => [rfc3986(key), rfc3986(value)] as const)
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const headerValue = (name: string): string => {
    const value = request.headers[name];
    return (Array.isArray(value) ? value.join(',') : (value ?? '')).trim().replace(/\s+/g, ' ');
  };
  const canonicalHeaders = parts.signedHeaders.map((name) => `${name}:${headerValue(name)}\n`).join('');
  const payloadHash = typeof request.headers['x-amz-content-sha256'] === 'string' ? request.headers['x-amz-content-sha256'] : hex(request.body);
  // Every service but S3 encodes each segment of the path once more (an ARN in the path: `%3A` signs as `%253A`).
  const canonicalPath = request.rawPath.split('/').map(rfc3986).join('/');
  const canonicalRequest = [request.method, canonicalPath, query, canonicalHeaders, parts.signedHeaders.join(';'), payloadHash].join('\n');
  const scope = `${parts.date}/${parts.region}/${parts.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', parts.amzDate, scope, hex(canonicalRequest)].join('\n');
  const key = [parts.date, parts.region, parts.service, 'aws4_request'].reduce<Buffer>((previous, part) => hmac(previous, part), Buffer.from(`AWS4${secretAccessKey}`, 'utf8'));
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(parts.signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `20250102T030405Z` as a Date. */
export function amzDateToDate(amzDate: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return new Date(Number.NaN);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}
