import { HttpsStandin, type StandinReply, type StandinRequest } from './https-standin.js';
import { EksLifecycleApi, eksError as awsError, type EksClusterBody, type EksLifecycleOptions, type EksNodegroupBody } from './eks-standin-lifecycle.js';
import { getWithTestCa } from './fetch-with-ca.js';
import { amzDateToDate, partsFromHeader, partsFromQuery, signatureIsValid, type SignedParts } from './sigv4.js';

/** An IAM identity the stand-in knows: its keys, its ARN, and whether it may use EKS. */
export interface AwsIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  arn: string;
  eksAllowed: boolean;
}

/** A cluster as DescribeCluster answers it, and its node groups as DescribeNodegroup does. */
export interface EksFixture {
  region: string;
  cluster: EksClusterBody;
  nodegroups: EksNodegroupBody[];
}

/**
 * EKS's request rate limit, per account (access key): a token bucket of `burst` requests refilled
 * at `requestsPerSecond`. Beyond it: 429 ThrottlingException with Retry-After, in whole seconds as
 * HTTP has it, or in fractions of one when `fractionalRetryAfter` (operation times scaled down).
 */
export interface EksRateLimit {
  requestsPerSecond: number;
  burst: number;
  fractionalRetryAfter?: boolean;
}

export interface EksStandinOptions extends EksLifecycleOptions {
  rateLimit?: EksRateLimit;
}

/** What a benchmark reads of a run. */
export interface EksStandinCounts {
  /** EKS calls that were answered (throttled ones included). */
  requests: number;
  throttledRequests: number;
  /** Resources made, per `cluster/<region>/<name>` and `nodegroup/<region>/<cluster>/<name>`. */
  creates: Record<string, number>;
  duplicateCreates: number;
}

const ACCOUNT = '123456789012';

/** A DescribeCluster body as EKS answers it (trimmed to the fields real answers always have). */
export function eksClusterBody(name: string, region: string, version: string, caPem: string, status = 'ACTIVE'): EksFixture['cluster'] {
  return {
    name,
    arn: `arn:aws:eks:${region}:${ACCOUNT}:cluster/${name}`,
    createdAt: 1_731_000_000.123,
    version,
    endpoint: `https://${name.toUpperCase()}0A1B2C3D4E5F.gr7.${region}.eks.amazonaws.com`,
    roleArn: `arn:aws:iam::${ACCOUNT}:role/eks-cluster-role`,
    resourcesVpcConfig: { subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: [], clusterSecurityGroupId: 'sg-0123', vpcId: 'vpc-0abc', endpointPublicAccess: true, endpointPrivateAccess: true, publicAccessCidrs: ['0.0.0.0/0'] },
    kubernetesNetworkConfig: { serviceIpv4Cidr: '10.100.0.0/16', ipFamily: 'ipv4' },
    logging: { clusterLogging: [{ types: ['api', 'audit'], enabled: false }] },
    identity: { oidc: { issuer: `https://oidc.eks.${region}.amazonaws.com/id/0A1B2C3D` } },
    status,
    certificateAuthority: { data: Buffer.from(caPem).toString('base64') },
    platformVersion: 'eks.12',
    tags: {},
    accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' },
  };
}

export function eksNodegroupBody(clusterName: string, region: string, name: string, desiredSize: number, instanceType: string | null, version: string): EksFixture['nodegroups'][number] {
  return {
    nodegroupName: name,
    nodegroupArn: `arn:aws:eks:${region}:${ACCOUNT}:nodegroup/${clusterName}/${name}/0a1b2c3d`,
    clusterName,
    version,
    releaseVersion: `${version}.0-20241109`,
    createdAt: 1_731_000_100.5,
    status: 'ACTIVE',
    capacityType: 'ON_DEMAND',
    scalingConfig: { minSize: 1, maxSize: desiredSize + 2, desiredSize },
    ...(instanceType === null ? { launchTemplate: { name: 'lt-workers', version: '3', id: 'lt-0abc' } } : { instanceTypes: [instanceType] }),
    subnets: ['subnet-0a1b2c3d'],
    amiType: 'AL2023_x86_64_STANDARD',
    nodeRole: `arn:aws:iam::${ACCOUNT}:role/eks-node-role`,
    labels: {},
    health: { issues: [] },
  };
}

const stsError = (status: number, code: string, message: string): StandinReply => ({
  status,
  headers: { 'content-type': 'text/xml' },
  text: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>0a1b2c3d</RequestId></ErrorResponse>`,
});

/**
 * Amazon EKS's REST API (the paths @aws-sdk/client-eks calls) and STS GetCallerIdentity, on one
 * HTTPS server. Every EKS call must carry a valid SigV4 signature of a known identity; the STS
 * endpoint checks presigned URLs the same way, as AWS does when the cluster's authenticator
 * replays an EKS token. Clusters and node groups are created, updated and deleted through the
 * API too (`lifecycle`, see eks-standin-lifecycle.ts), in the same store the fixtures are in.
 */
export class EksStandin {
  readonly identities = new Map<string, AwsIdentity>();
  readonly fixtures: EksFixture[] = [];
  /** Page size of the list calls (small to make the SDK follow nextToken). */
  pageSize = 100;
  /** The next n EKS calls answer 429 ThrottlingException. */
  throttleNext = 0;
  /** The Retry-After of those answers, in seconds (none when null). */
  throttleNextRetryAfter: string | null = null;
  /** The regions (credential scope) of signed EKS calls, in order. */
  readonly signedRegions: string[] = [];
  readonly lifecycle: EksLifecycleApi;
  /** Null: no rate limit. */
  rateLimit: EksRateLimit | null;
  requests = 0;
  throttledRequests = 0;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  private constructor(
    readonly server: HttpsStandin,
    options: EksStandinOptions,
  ) {
    this.lifecycle = new EksLifecycleApi(this.fixtures, options);
    this.rateLimit = options.rateLimit ?? null;
  }

  static async start(options: EksStandinOptions = {}): Promise<EksStandin> {
    // The server starts first; its handler reaches the stand-in once it exists.
    const started: { standin?: EksStandin } = {};
    const server = await HttpsStandin.start((request) => started.standin?.handle(request) ?? { status: 503 });
    started.standin = new EksStandin(server, options);
    return started.standin;
  }

  counts(): EksStandinCounts {
    return {
      requests: this.requests,
      throttledRequests: this.throttledRequests,
      creates: Object.fromEntries(this.lifecycle.creates),
      duplicateCreates: this.lifecycle.duplicateCreates,
    };
  }

  /** Forgets the counts, the rate limit's buckets and the lifecycle's changes under way (not the fixtures). */
  resetCounts(): void {
    this.requests = 0;
    this.throttledRequests = 0;
    this.buckets.clear();
    this.lifecycle.reset();
  }

  get url(): string {
    return this.server.url;
  }

  private handle(request: StandinRequest): StandinReply {
    if (request.url.pathname === '/' && request.url.searchParams.get('Action') === 'GetCallerIdentity') return this.getCallerIdentity(request);
    const parts = partsFromHeader(request.headers);
    if (!parts) return awsError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    const identity = this.identities.get(parts.accessKeyId);
    if (!identity) return awsError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (parts.service !== 'eks' || !signatureIsValid({ ...request, query: request.url.searchParams }, parts, identity.secretAccessKey)) {
      return awsError(403, 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.');
    }
    this.signedRegions.push(parts.region);
    this.requests += 1;
    if (this.throttleNext > 0) {
      this.throttleNext -= 1;
      this.throttledRequests += 1;
      const throttled = awsError(429, 'ThrottlingException', 'Rate exceeded');
      return this.throttleNextRetryAfter === null ? throttled : { ...throttled, headers: { ...throttled.headers, 'retry-after': this.throttleNextRetryAfter } };
    }
    const waitMs = this.rateLimited(parts.accessKeyId);
    if (waitMs > 0) {
      this.throttledRequests += 1;
      const seconds = this.rateLimit?.fractionalRetryAfter ? (Math.ceil(waitMs) / 1000).toFixed(3) : String(Math.ceil(waitMs / 1000));
      const throttled = awsError(429, 'ThrottlingException', 'Rate exceeded');
      return { ...throttled, headers: { ...throttled.headers, 'retry-after': seconds } };
    }
    if (!identity.eksAllowed) {
      return awsError(403, 'AccessDeniedException', `User: ${identity.arn} is not authorized to perform: eks:${request.method === 'GET' ? 'DescribeCluster' : 'Unknown'}`);
    }
    // What was due by now happens before the call is answered.
    this.lifecycle.advance();
    return this.route(request, parts.region);
  }

  /** 0 when the account may make a call now (and it is counted), else how long until it may, in ms. */
  private rateLimited(accessKeyId: string): number {
    const limit = this.rateLimit;
    if (limit === null) return 0;
    const now = Date.now();
    const bucket = this.buckets.get(accessKeyId) ?? { tokens: limit.burst, at: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.requestsPerSecond);
    bucket.at = now;
    this.buckets.set(accessKeyId, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, ((1 - bucket.tokens) / limit.requestsPerSecond) * 1000);
  }

  private route(request: StandinRequest, region: string): StandinReply {
    const segments = request.url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const changed = this.lifecycle.route(request.method, segments, request.url.searchParams, request.body, region);
    if (changed !== undefined) return changed;
    const inRegion = this.fixtures.filter((fixture) => fixture.region === region);
    const find = (name: string | undefined) => inRegion.find((fixture) => fixture.cluster.name === name);
    if (request.method !== 'GET' || segments[0] !== 'clusters') return awsError(404, 'UnknownOperationException', 'Unknown operation');
    const [, clusterName, sub, nodegroupName] = segments;
    if (clusterName === undefined) return { status: 200, json: this.page('clusters', inRegion.map((fixture) => fixture.cluster.name), request.url.searchParams) };
    const fixture = find(clusterName);
    if (!fixture) return awsError(404, 'ResourceNotFoundException', `No cluster found for name: ${clusterName}.`);
    if (sub === undefined) return { status: 200, json: { cluster: fixture.cluster } };
    if (sub !== 'node-groups') return awsError(404, 'UnknownOperationException', 'Unknown operation');
    if (nodegroupName === undefined) return { status: 200, json: this.page('nodegroups', fixture.nodegroups.map((nodegroup) => nodegroup.nodegroupName), request.url.searchParams) };
    const nodegroup = fixture.nodegroups.find((candidate) => candidate.nodegroupName === nodegroupName);
    if (!nodegroup) return awsError(404, 'ResourceNotFoundException', `No node group found for name: ${nodegroupName}.`);
    return { status: 200, json: { nodegroup } };
  }

  private page(key: string, names: string[], query: URLSearchParams): Record<string, unknown> {
    const start = Number(query.get('nextToken') ?? '0');
    const size = Math.min(this.pageSize, Number(query.get('maxResults') ?? '100'));
    const items = names.slice(start, start + size);
    return { [key]: items, ...(start + size < names.length ? { nextToken: String(start + size) } : {}) };
  }

  /** STS GetCallerIdentity with a presigned query (what an EKS token carries). */
  private getCallerIdentity(request: StandinRequest): StandinReply {
    const parts = partsFromQuery(request.url.searchParams);
    if (!parts) return stsError(403, 'AccessDenied', 'Missing or malformed X-Amz-* parameters');
    const identity = this.identities.get(parts.accessKeyId);
    if (!identity) return stsError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    const expires = Number(request.url.searchParams.get('X-Amz-Expires'));
    if (!(expires > 0) || Date.now() > amzDateToDate(parts.amzDate).getTime() + 15 * 60_000) return stsError(403, 'ExpiredToken', 'The request has expired');
    if (parts.service !== 'sts' || !signatureIsValid({ ...request, query: request.url.searchParams }, parts, identity.secretAccessKey)) {
      return stsError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    }
    return {
      status: 200,
      headers: { 'content-type': 'text/xml' },
      text: `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${identity.arn}</Arn><UserId>AIDA0A1B2C3D4E5F</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>0a1b2c3d</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    };
  }

  /**
   * What the cluster's aws-iam-authenticator does with a bearer token: decode the presigned URL,
   * check it is a GetCallerIdentity call bound to this cluster, replay it at STS, read the ARN.
   */
  async authenticate(token: string, clusterName: string): Promise<{ arn: string; url: URL; parts: SignedParts } | { error: string }> {
    if (!token.startsWith('k8s-aws-v1.')) return { error: 'not a k8s-aws-v1 token' };
    const url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8'));
    const parts = partsFromQuery(url.searchParams);
    if (!parts) return { error: 'no SigV4 query parameters' };
    if (url.origin !== this.url) return { error: `unexpected STS host ${url.host}` };
    if (url.searchParams.get('Action') !== 'GetCallerIdentity') return { error: 'not GetCallerIdentity' };
    if (!parts.signedHeaders.includes('x-k8s-aws-id')) return { error: 'x-k8s-aws-id is not signed' };
    const reply = await getWithTestCa(url.toString(), { 'x-k8s-aws-id': clusterName });
    if (reply.status !== 200) return { error: `STS answered ${reply.status}: ${reply.body}` };
    const arn = /<Arn>([^<]+)<\/Arn>/.exec(reply.body)?.[1];
    return arn === undefined ? { error: 'no ARN in STS answer' } : { arn, url, parts };
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}
