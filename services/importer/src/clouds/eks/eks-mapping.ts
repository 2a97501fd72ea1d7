import type { Cluster, Nodegroup } from '@aws-sdk/client-eks';
import type { CloudCluster, CloudNodeGroup } from '../cloud-provider.js';
import { CloudError, cloudErrorCodeFor, type CloudErrorCode } from '../errors.js';

/** An EKS managed node group as ours: desired size, first instance type, its version. */
export function eksNodeGroup(nodegroup: Nodegroup): CloudNodeGroup {
  return {
    name: nodegroup.nodegroupName ?? '',
    nodeCount: nodegroup.scalingConfig?.desiredSize ?? 0,
    // Absent when the group's launch template names the instance type.
    instanceType: nodegroup.instanceTypes?.[0] ?? null,
    version: nodegroup.version ?? null,
  };
}

/** A DescribeCluster answer (plus its node groups) as ours. */
export function eksCluster(cluster: Cluster, region: string, nodegroups: Nodegroup[]): CloudCluster {
  if (!cluster.name) throw new CloudError('cloud-response-invalid', 'EKS DescribeCluster answered a cluster without a name');
  return {
    provider: 'eks',
    name: cluster.name,
    location: region,
    version: cluster.version ?? '',
    status: cluster.status ?? 'UNKNOWN',
    endpoint: cluster.endpoint ?? null,
    nodeGroups: nodegroups.map(eksNodeGroup),
  };
}

/** The cluster CA of a DescribeCluster answer: base64 of the PEM. */
export function eksCaCertificatePem(cluster: Cluster): string {
  const data = cluster.certificateAuthority?.data;
  const pem = data ? Buffer.from(data, 'base64').toString('utf8') : '';
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new CloudError('cloud-response-invalid', `EKS cluster "${cluster.name ?? '?'}" has no certificate authority yet (status ${cluster.status ?? 'unknown'})`);
  }
  return pem;
}

/** A refusal of InvalidParameterException that is about the Kubernetes version asked for. */
const VERSION_REFUSAL = /\b(kubernetes|nodegroup|cluster) (minor )?version\b/i;

/** The parts of an AWS SDK failure we read, defensively: a service answer carries `$metadata.httpStatusCode`. */
function sdkFacts(error: unknown): { status?: number; name?: string; code?: string; message?: string } {
  if (typeof error !== 'object' || error === null) return {};
  const facts = error as { name?: unknown; code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return {
    ...(typeof facts.$metadata?.httpStatusCode === 'number' ? { status: facts.$metadata.httpStatusCode } : {}),
    ...(typeof facts.name === 'string' ? { name: facts.name } : {}),
    ...(typeof facts.code === 'string' ? { code: facts.code } : {}),
    ...(typeof facts.message === 'string' ? { message: facts.message } : {}),
  };
}

/** Reads what a failed AWS SDK call tells: the exception name, the HTTP status, or Node's network code. */
export function eksErrorCode(error: unknown): CloudErrorCode {
  if (typeof error !== 'object' || error === null) return 'cloud-failed';
  const { status, name, code, message = '' } = sdkFacts(error);
  if (status !== undefined && name === 'ResourceLimitExceededException') return 'cloud-quota-exceeded';
  if (status !== undefined && name === 'InvalidParameterException' && VERSION_REFUSAL.test(message)) return 'cloud-version-not-offered';
  const networkCode = code ?? name;
  // A service answer carries a status; a bare Error name says nothing about the service.
  return cloudErrorCodeFor({ ...(status === undefined ? {} : { status, code: name }), ...(networkCode === undefined ? {} : { networkCode }) });
}

/** The longest part of a service's own message we quote. */
const MAX_QUOTED = 300;

/**
 * The wait a throttled answer asked for, from its Retry-After header (seconds, or an HTTP date),
 * in ms; undefined when it said nothing usable.
 */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The Retry-After of the answer an SDK failure carries (the SDK keeps it as a hidden `$response`). */
export function eksRetryAfterMs(error: unknown, now = Date.now()): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const headers = (error as { $response?: { headers?: unknown } }).$response?.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === 'retry-after');
  return typeof entry?.[1] === 'string' ? retryAfterMs(entry[1], now) : undefined;
}

/**
 * The CloudError for a failed EKS call; `what` names the call and resource, never the credential.
 * A service answer's own message is quoted (AWS says there what was wrong: the version, the
 * quota, the state), and a throttled one carries the wait it asked for.
 */
export function eksError(error: unknown, what: string): CloudError {
  if (error instanceof CloudError) return error;
  const code = eksErrorCode(error);
  const { status, name = 'Error', message } = sdkFacts(error);
  const quoted = status !== undefined && message !== undefined && message !== '' && message !== name ? ` (${message.replace(/\s+/g, ' ').slice(0, MAX_QUOTED)})` : '';
  return new CloudError(code, `EKS ${what}: ${name}${quoted}`, undefined, code === 'cloud-throttled' ? eksRetryAfterMs(error) : undefined);
}

/** The exception name of an AWS service answer, undefined for anything else (a network failure...). */
export function eksExceptionName(error: unknown): string | undefined {
  const { status, name } = sdkFacts(error);
  return status === undefined ? undefined : name;
}

/** The STS endpoint for a region: the regional one, `.com.cn` in the China partition. */
export function stsEndpointFor(region: string, override: string | undefined): string {
  if (override !== undefined) return override.replaceAll('{region}', region);
  return `https://sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}
