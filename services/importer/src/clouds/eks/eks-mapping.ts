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

/** Reads what a failed AWS SDK call tells: the exception name, the HTTP status, or Node's network code. */
export function eksErrorCode(error: unknown): CloudErrorCode {
  if (typeof error !== 'object' || error === null) return 'cloud-failed';
  const facts = error as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = typeof facts.$metadata?.httpStatusCode === 'number' ? facts.$metadata.httpStatusCode : undefined;
  const name = typeof facts.name === 'string' ? facts.name : undefined;
  const networkCode = typeof facts.code === 'string' ? facts.code : name;
  // A service answer carries a status; a bare Error name says nothing about the service.
  return cloudErrorCodeFor({ ...(status === undefined ? {} : { status, code: name }), ...(networkCode === undefined ? {} : { networkCode }) });
}

/** The CloudError for a failed EKS call; `what` names the call and resource, never the credential. */
export function eksError(error: unknown, what: string): CloudError {
  if (error instanceof CloudError) return error;
  const code = eksErrorCode(error);
  const name = typeof error === 'object' && error !== null && 'name' in error && typeof error.name === 'string' ? error.name : 'Error';
  return new CloudError(code, `EKS ${what}: ${name}`);
}

/** The STS endpoint for a region: the regional one, `.com.cn` in the China partition. */
export function stsEndpointFor(region: string, override: string | undefined): string {
  if (override !== undefined) return override.replaceAll('{region}', region);
  return `https://sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}
