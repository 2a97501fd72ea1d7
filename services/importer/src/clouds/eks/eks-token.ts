import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsAccount } from '../accounts.js';

/** Prefix of an EKS bearer token (aws-iam-authenticator's format, version 1). */
export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** The header that binds the presigned call to one cluster. */
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** aws-iam-authenticator presigns for 60 s and accepts the token for 15 min after signing. */
export const PRESIGN_EXPIRES_SECONDS = 60;
/** Reported lifetime: a minute short of the 15 min the server accepts, as the authenticator's client does. */
export const TOKEN_LIFETIME_MS = 14 * 60_000;

export interface EksToken {
  token: string;
  expiresAt: Date;
}

/** RFC 3986 escaping, as SigV4 canonicalises the query. */
function escape(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * An EKS bearer token exactly as aws-iam-authenticator makes it: an STS GetCallerIdentity call,
 * presigned with SigV4 and the cluster name signed in as the x-k8s-aws-id header, base64url
 * encoded after `k8s-aws-v1.`. The API server's authenticator replays the call to learn who we are.
 */
export async function eksToken(account: AwsAccount, region: string, clusterName: string, stsEndpoint: string, now = new Date()): Promise<EksToken> {
  const sts = new URL(stsEndpoint);
  const signer = new SignatureV4({
    credentials: { accessKeyId: account.accessKeyId, secretAccessKey: account.secretAccessKey, ...(account.sessionToken ? { sessionToken: account.sessionToken } : {}) },
    region,
    service: 'sts',
    sha256: Hash.bind(null, 'sha256'),
  });
  const request = new HttpRequest({
    method: 'GET',
    protocol: sts.protocol,
    hostname: sts.hostname,
    ...(sts.port === '' ? {} : { port: Number(sts.port) }),
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: sts.host, [CLUSTER_ID_HEADER]: clusterName },
  });
  const presigned = await signer.presign(request, { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate: now });
  const query = Object.entries(presigned.query ?? {})
    .flatMap(([key, value]) => (Array.isArray(value) ? value.map((item) => [key, item] as const) : value === null ? [] : [[key, value] as const]))
    .map(([key, value]) => `${escape(key)}=${escape(value)}`)
    .join('&');
  const url = `${sts.protocol}//${sts.host}/?${query}`;
  return { token: EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url'), expiresAt: new Date(now.getTime() + TOKEN_LIFETIME_MS) };
}
