import { createHash } from 'node:crypto';
import { Agent } from 'node:https';
import { createSecureContext } from 'node:tls';
import { EKSClient } from '@aws-sdk/client-eks';
import type { AwsAccount } from '../accounts.js';
import type { RequestBudgets } from '../request-budget.js';
import { setAtMost } from '../bounded-map.js';
import { trustedCas, type CloudSettings } from '../settings.js';
import { eksError, eksErrorCode } from './eks-mapping.js';

/** Clients kept at most by a caching factory (one per account and region). */
const MAX_CACHED = 64;

/**
 * EKS clients for the import side and the lifecycle side alike: the endpoint (`{region}`
 * replaced), the extra CAs, the timeouts and attempts of the cloud settings.
 *
 * With `surfaceThrottling`, a throttled answer (429, ThrottlingException) ends the call at once as
 * cloud-throttled with its Retry-After, instead of the SDK sleeping and retrying inside it: the
 * caller's account gate then holds back every call of the account, not only this one. The check
 * sits inside the SDK's retry loop (deserialize step), so other transient failures are still retried.
 *
 * With `budgets`, every request (each attempt) first takes a token of its account's and region's
 * request budget, and a throttled answer holds that budget for its Retry-After.
 *
 * With `cache`, a client is kept per account and region: building one resolves the SDK's whole
 * configuration (region, endpoint, credential and retry providers, the middleware stack), which
 * cost more CPU than the call it served when a reconciler polls many clusters of one account. The
 * key holds a hash of the secret, never the secret; a rotated secret is a new key.
 */
export class EksClients {
  /**
   * One keep-alive agent for every client of this instance. A client is never destroyed:
   * destroying it would destroy the agent, and with it the sockets of calls still in flight on
   * other clients.
   */
  private readonly httpsAgent: Agent;
  private readonly cached = new Map<string, EKSClient>();

  constructor(
    private readonly settings: CloudSettings,
    private readonly options: { cache?: boolean; surfaceThrottling: boolean; budgets?: RequestBudgets } = { surfaceThrottling: false },
  ) {
    const ca = trustedCas(settings);
    // One secure context for every connection: given `ca` itself, the agent joins the whole CA list
    // into its connection-pool key on every request and parses it for every new connection.
    this.httpsAgent = new Agent({ keepAlive: true, ...(ca === undefined ? {} : { secureContext: createSecureContext({ ca }) }) });
  }

  client(account: AwsAccount, region: string): EKSClient {
    if (this.options.cache !== true) return this.build(account, region);
    const secret = createHash('sha256').update(`${account.secretAccessKey}\n${account.sessionToken ?? ''}`).digest('base64url');
    const key = [account.accessKeyId, secret, region].join('\n');
    let client = this.cached.get(key);
    if (client === undefined) {
      client = this.build(account, region);
      setAtMost(this.cached, key, client, MAX_CACHED);
    }
    return client;
  }

  private build(account: AwsAccount, region: string): EKSClient {
    const endpoint = this.settings.eks.endpoint?.replaceAll('{region}', region);
    const client = new EKSClient({
      region,
      credentials: { accessKeyId: account.accessKeyId, secretAccessKey: account.secretAccessKey, ...(account.sessionToken ? { sessionToken: account.sessionToken } : {}) },
      ...(endpoint === undefined ? {} : { endpoint }),
      maxAttempts: this.settings.maxAttempts,
      requestHandler: { connectionTimeout: this.settings.requestTimeoutMs, requestTimeout: this.settings.requestTimeoutMs, httpsAgent: this.httpsAgent },
    });
    const budget = this.options.budgets?.for(account.accessKeyId, region);
    if (this.options.surfaceThrottling || budget !== undefined) {
      const surface = this.options.surfaceThrottling;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          await budget?.take();
          try {
            return await next(args);
          } catch (error) {
            if (eksErrorCode(error) !== 'cloud-throttled') throw error;
            const throttled = eksError(error, context.commandName ?? 'call');
            if (throttled.retryAfterMs !== undefined) budget?.hold(throttled.retryAfterMs);
            // A CloudError has no $metadata: the SDK's retry strategy takes it as a client error and does not retry.
            if (surface) throw throttled;
            throw error;
          }
        },
        { step: 'deserialize', name: 'flotillaSurfaceThrottling', priority: 'high' },
      );
    }
    return client;
  }
}
