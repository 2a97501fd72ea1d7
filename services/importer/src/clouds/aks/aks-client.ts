import { createHash } from 'node:crypto';
import { Agent } from 'node:https';
import { createSecureContext } from 'node:tls';
import { ContainerServiceClient, type ContainerServiceClientOptionalParams } from '@azure/arm-containerservice';
import { ClientSecretCredential } from '@azure/identity';
import type { AzureAccount } from '../accounts.js';
import { CloudError } from '../errors.js';
import type { RequestBudget, RequestBudgets } from '../request-budget.js';
import { trustedCas, type CloudSettings } from '../settings.js';
import { retryAfterMs } from './aks-mapping.js';
import { setAtMost } from '../bounded-map.js';

type PipelinePolicy = NonNullable<ContainerServiceClientOptionalParams['additionalPolicies']>[number]['policy'];

/** Authorities the identity library can discover by itself; any other needs discovery off. */
const KNOWN_AUTHORITIES = new Set(['https://login.microsoftonline.com', 'https://login.chinacloudapi.cn', 'https://login.microsoftonline.us']);

/** Clients kept at most by a caching factory (one per account and subscription). */
const MAX_CACHED = 64;

/**
 * Turns ARM's 429 into cloud-throttled at once, with its Retry-After, instead of letting the SDK
 * sleep and retry inside the call: the caller's throttle gate then holds back every call of the
 * service, rather than each call waiting on its own and coming back together. It runs on each
 * attempt, inside the SDK's retry policy, so other transient failures are still retried.
 */
const surfaceThrottling: PipelinePolicy = {
  name: 'flotillaSurfaceThrottling',
  async sendRequest(request, next) {
    const response = await next(request);
    if (response.status !== 429) return response;
    let code = 'TooManyRequests';
    let message = '';
    try {
      const body = JSON.parse(response.bodyAsText ?? '') as { error?: { code?: unknown; message?: unknown } };
      if (typeof body.error?.code === 'string') code = body.error.code;
      if (typeof body.error?.message === 'string') message = ` (${body.error.message})`;
    } catch {
      // No ARM error body: the status says enough.
    }
    throw new CloudError('cloud-throttled', `AKS ${request.method} ${new URL(request.url).pathname}: ${code}${message}`, undefined, retryAfterMs(response.headers.get('retry-after')));
  },
};

/**
 * Every ARM request (each attempt) takes a token of the account's request budget first; a 429 that
 * comes anyway holds the budget for its Retry-After.
 */
function budgetPolicy(budget: RequestBudget): PipelinePolicy {
  return {
    name: 'flotillaRequestBudget',
    async sendRequest(request, next) {
      await budget.take(request.abortSignal instanceof AbortSignal ? request.abortSignal : undefined);
      const response = await next(request);
      if (response.status === 429) {
        const wait = retryAfterMs(response.headers.get('retry-after'));
        if (wait !== undefined) budget.hold(wait);
      }
      return response;
    },
  };
}

/**
 * Builds the Azure SDK clients of the AKS code from the cloud settings: ARM endpoint and token
 * scope, Entra ID authority, extra CAs, retries and the per-call timeout.
 *
 * With `surfaceThrottling`, a 429 fails the call at once (see `surfaceThrottling`).
 * With `budgets`, ARM requests are paced by the budget of the account and subscription.
 * With `cache`, a client (and its credential, which keeps its access token until it expires) is
 * reused per account and subscription, so a reconciler polling many operations does not sign in
 * for every call. The key holds a hash of the secret, never the secret; a rotated secret is a new key.
 */
export class AksClients {
  /** With extra CAs: one keep-alive agent on one secure context (see `EksClients` for why not `ca`). */
  private readonly agent: Agent | undefined;
  private readonly cached = new Map<string, ContainerServiceClient>();

  constructor(
    private readonly settings: CloudSettings,
    private readonly options: { cache: boolean; surfaceThrottling: boolean; budgets?: RequestBudgets } = { cache: false, surfaceThrottling: false },
  ) {
    const ca = trustedCas(settings);
    this.agent = ca === undefined ? undefined : new Agent({ keepAlive: true, secureContext: createSecureContext({ ca }) });
  }

  credential(account: AzureAccount): ClientSecretCredential {
    return new ClientSecretCredential(account.tenantId, account.clientId, account.clientSecret, {
      authorityHost: this.settings.aks.authorityHost,
      disableInstanceDiscovery: !KNOWN_AUTHORITIES.has(this.settings.aks.authorityHost),
      retryOptions: { maxRetries: this.settings.maxAttempts - 1 },
      ...(this.agent === undefined ? {} : { agent: this.agent }),
    });
  }

  client(account: AzureAccount, subscriptionId: string): ContainerServiceClient {
    if (!this.options.cache) return this.build(account, subscriptionId);
    const key = [account.tenantId, account.clientId, createHash('sha256').update(account.clientSecret).digest('base64url'), subscriptionId].join('\n');
    let client = this.cached.get(key);
    if (client === undefined) {
      client = this.build(account, subscriptionId);
      setAtMost(this.cached, key, client, MAX_CACHED);
    }
    return client;
  }

  /** The caller's signal bounded by the per-call timeout. */
  signal(signal: AbortSignal | undefined): AbortSignal {
    const timeout = AbortSignal.timeout(this.settings.requestTimeoutMs);
    return signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  }

  private build(account: AzureAccount, subscriptionId: string): ContainerServiceClient {
    const budget = this.options.budgets?.for(`${account.tenantId}/${account.clientId}`, subscriptionId);
    // Per retry, in order: the budget is taken for each attempt, and sees the 429 before it is raised.
    const policies = [
      ...(this.options.surfaceThrottling ? [{ policy: surfaceThrottling, position: 'perRetry' as const }] : []),
      ...(budget === undefined ? [] : [{ policy: budgetPolicy(budget), position: 'perRetry' as const }]),
    ];
    return new ContainerServiceClient(this.credential(account), subscriptionId, {
      endpoint: this.settings.aks.endpoint,
      credentials: { scopes: [this.settings.aks.credentialScope] },
      retryOptions: { maxRetries: this.settings.maxAttempts - 1 },
      ...(this.agent === undefined ? {} : { agent: this.agent }),
      ...(policies.length === 0 ? {} : { additionalPolicies: policies }),
    });
  }
}
