import { request, type RequestOptions } from 'node:https';
import { CoreV1Api, KubeConfig, Observable, VersionApi, type ConfigurationOptions, type RequestContext, type V1Node } from '@kubernetes/client-node';
import { KubernetesVersion } from '@flotilla/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { ClusterEndpoints, type ClusterEndpoint } from './cluster-access.js';
import type { ClusterProbe, HealthOutcome, ProbedNode, ProbeFailure, ProbeOutcome, ProbeTarget } from './cluster-probe.js';
import { assertBound, BoundAgent, bindingErrorIn } from './credential-guard.js';
import { detectDistribution, nodeRole } from './distribution.js';
import { errorFacts, probeFailureOf, tunnelFailureOf, type ProbeStep } from './probe-failures.js';
import { parseQuantity } from './quantity.js';

/** Nodes per list call: a 5,000-node cluster is read in pages rather than one huge answer. */
const NODE_PAGE_SIZE = 500;

/**
 * The connectivity check over the official client (`@kubernetes/client-node`): the same calls
 * kubectl makes, with the API server verified against the stored CA and authenticated with the
 * stored token or client certificate.
 */
@Injectable()
export class KubernetesClusterProbe implements ClusterProbe {
  constructor(@Inject(ClusterEndpoints) private readonly endpoints: ClusterEndpoints) {}

  async probe(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    const resolved = await this.endpoints.resolve(target, signal);
    return resolved.ok ? inspectCluster(resolved.endpoint, signal) : resolved;
  }

  async health(target: ProbeTarget, signal: AbortSignal): Promise<HealthOutcome> {
    const resolved = await this.endpoints.resolve(target, signal);
    return resolved.ok ? checkHealth(resolved.endpoint, signal) : resolved;
  }
}

class StepFailed extends Error {
  constructor(readonly failure: ProbeFailure) {
    super(failure.message);
  }
}

/** Version, nodes and readiness of the cluster at `endpoint`. */
export async function inspectCluster(endpoint: ClusterEndpoint, signal: AbortSignal): Promise<ProbeOutcome> {
  let client: KubernetesClient | undefined;
  try {
    client = await KubernetesClient.open(endpoint, signal);
    const version = await client.version();
    const nodes = await client.nodes();
    const ready = await client.ready();
    return {
      ok: true,
      report: {
        version,
        distribution: detectDistribution(version, nodes.map((node) => ({ labels: node.metadata?.labels ?? {}, providerID: node.spec?.providerID }))),
        nodes: nodes.map(probedNode),
        ready,
        credentialExpiresAt: endpoint.expiresAt,
      },
    };
  } catch (error) {
    return failed(error);
  } finally {
    client?.close();
  }
}

/** Version and readiness only: the periodic re-check. */
export async function checkHealth(endpoint: ClusterEndpoint, signal: AbortSignal): Promise<HealthOutcome> {
  let client: KubernetesClient | undefined;
  try {
    client = await KubernetesClient.open(endpoint, signal);
    const version = await client.version();
    return { ok: true, report: { version, ready: await client.ready() } };
  } catch (error) {
    return failed(error);
  } finally {
    client?.close();
  }
}

/** A step's failure or a refusal of the credential guard, as the probe answers it; anything else is thrown on. */
function failed(error: unknown): { ok: false; failures: ProbeFailure[] } {
  if (error instanceof StepFailed) return { ok: false, failures: [error.failure] };
  const refused = bindingErrorIn(error);
  if (refused) return { ok: false, failures: [{ code: refused.code, message: refused.message }] };
  throw error;
}

function probedNode(node: V1Node): ProbedNode {
  const capacity = node.status?.capacity ?? {};
  const quantity = (name: string) => parseQuantity(capacity[name] ?? '') ?? 0;
  const kubeletVersion = node.status?.nodeInfo?.kubeletVersion;
  return {
    name: node.metadata?.name ?? '',
    role: nodeRole(node.metadata?.labels ?? {}),
    ...(kubeletVersion ? { kubeletVersion } : {}),
    cpuCores: quantity('cpu'),
    memoryBytes: quantity('memory'),
    pods: Math.round(quantity('pods')),
  };
}

/**
 * One cluster, one check: a KubeConfig built from the endpoint, every call bound to `signal`.
 * The client would open a new TLS connection per call; one keep-alive agent with the same TLS
 * settings (from the KubeConfig) carries every call of the check instead, then is closed.
 * The only place the importer builds a client for a cluster: it refuses (CredentialBindingError)
 * an endpoint that is not the one its credential is bound to, and its agent connects nowhere else.
 */
class KubernetesClient {
  private readonly config = new KubeConfig();
  private readonly options: ConfigurationOptions;
  private agent: BoundAgent | undefined;
  private headers: RequestOptions['headers'];

  private constructor(
    private readonly endpoint: ClusterEndpoint,
    private readonly signal: AbortSignal,
  ) {
    assertBound(endpoint);
    const { auth } = endpoint;
    const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
    this.config.loadFromClusterAndUser(
      { name: 'cluster', server: endpoint.apiServer.replace(/\/+$/, ''), skipTLSVerify: false, ...(endpoint.caCertificatePem ? { caData: base64(endpoint.caCertificatePem) } : {}) },
      auth.kind === 'bearer-token'
        ? { name: 'importer', token: auth.token.revealString() }
        : { name: 'importer', certData: base64(auth.certificatePem), keyData: base64(auth.privateKey.revealString()) },
    );
    this.options = {
      middleware: [
        {
          pre: (context: RequestContext) => {
            context.setSignal(signal);
            if (this.agent) context.setAgent(this.agent);
            return new Observable(Promise.resolve(context));
          },
          post: (response) => new Observable(Promise.resolve(response)),
        },
      ],
      middlewareMergeStrategy: 'append',
    };
  }

  static async open(endpoint: ClusterEndpoint, signal: AbortSignal): Promise<KubernetesClient> {
    const client = new KubernetesClient(endpoint, signal);
    const tls: RequestOptions = {};
    await client.config.applyToHTTPSOptions(tls);
    client.agent = new BoundAgent(endpoint.boundTo, endpoint.credentialRef, { keepAlive: true, maxSockets: 1, ca: tls.ca, cert: tls.cert, key: tls.key });
    client.headers = tls.headers;
    return client;
  }

  close(): void {
    this.agent?.destroy();
  }

  async version(): Promise<string> {
    const info = await this.step('read the version', () => this.config.makeApiClient(VersionApi).getCode({}, this.options));
    const version = typeof info === 'object' && info !== null ? info.gitVersion : undefined;
    if (typeof version !== 'string' || !KubernetesVersion.safeParse(version).success) {
      throw new StepFailed({ code: 'not-kubernetes', message: `${this.endpoint.apiServer}/version did not answer a Kubernetes version (gitVersion)` });
    }
    return version;
  }

  async nodes(): Promise<V1Node[]> {
    const api = this.config.makeApiClient(CoreV1Api);
    const nodes: V1Node[] = [];
    let next: string | undefined;
    do {
      const page = await this.step('list nodes', () => api.listNode({ limit: NODE_PAGE_SIZE, ...(next ? { _continue: next } : {}) }, this.options));
      nodes.push(...page.items);
      next = page.metadata?._continue || undefined;
    } while (next);
    return nodes;
  }

  /** /readyz answered 200. Its body lists the failing checks otherwise; a 404 (very old servers) falls back to /healthz. */
  async ready(): Promise<boolean> {
    const status = await this.step('read /readyz', () => this.get('/readyz'));
    if (status === 404) return (await this.step('read /healthz', () => this.get('/healthz'))) === 200;
    return status === 200;
  }

  /** A GET with the client's own TLS settings and credentials (applyToHTTPSOptions), for paths outside the typed API. */
  private async get(path: string): Promise<number> {
    const url = `${this.endpoint.apiServer.replace(/\/+$/, '')}${path}`;
    return new Promise<number>((resolve, reject) => {
      const call = request(url, { method: 'GET', agent: this.agent, headers: this.headers, signal: this.signal }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      });
      call.on('error', reject);
      call.end();
    });
  }

  private async step<T>(step: ProbeStep, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (bindingErrorIn(error)) throw error;
      const facts = errorFacts(error);
      // A 200 that is not JSON (a web page at that address) fails in the client's deserializer.
      if (step === 'read the version' && facts.status === undefined && facts.code === undefined && facts.name === undefined) {
        throw new StepFailed({ code: 'not-kubernetes', message: `${this.endpoint.apiServer}/version did not answer JSON: that address does not serve a Kubernetes API` });
      }
      if (this.signal.aborted) throw new StepFailed({ code: 'probe-timeout', message: `${this.endpoint.apiServer} did not answer in time (while trying to ${step})` });
      const tunnel = this.endpoint.via === 'tunnel' ? tunnelFailureOf(facts, step, this.endpoint.apiServer) : undefined;
      throw new StepFailed(tunnel ?? probeFailureOf(facts, step, this.endpoint.apiServer, this.endpoint.credentialRef));
    }
  }
}
