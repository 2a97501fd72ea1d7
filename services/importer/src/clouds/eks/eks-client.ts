import { Agent } from 'node:https';
import { createSecureContext } from 'node:tls';
import { EKSClient } from '@aws-sdk/client-eks';
import type { AwsAccount } from '../accounts.js';
import { trustedCas, type CloudSettings } from '../settings.js';

/**
 * EKS clients for the import side and the lifecycle side alike: the endpoint (`{region}`
 * replaced), the extra CAs, the timeouts and attempts of the cloud settings.
 */
export class EksClients {
  /**
   * One keep-alive agent for every client of this instance. A client is made per account and
   * region (the credentials differ per call) and is never destroyed: destroying it would destroy
   * the agent, and with it the sockets of calls still in flight on other clients.
   */
  private readonly httpsAgent: Agent;

  constructor(private readonly settings: CloudSettings) {
    const ca = trustedCas(settings);
    // One secure context for every connection: given `ca` itself, the agent joins the whole CA list
    // into its connection-pool key on every request and parses it for every new connection.
    this.httpsAgent = new Agent({ keepAlive: true, ...(ca === undefined ? {} : { secureContext: createSecureContext({ ca }) }) });
  }

  client(account: AwsAccount, region: string): EKSClient {
    const endpoint = this.settings.eks.endpoint?.replaceAll('{region}', region);
    return new EKSClient({
      region,
      credentials: { accessKeyId: account.accessKeyId, secretAccessKey: account.secretAccessKey, ...(account.sessionToken ? { sessionToken: account.sessionToken } : {}) },
      ...(endpoint === undefined ? {} : { endpoint }),
      maxAttempts: this.settings.maxAttempts,
      requestHandler: { connectionTimeout: this.settings.requestTimeoutMs, requestTimeout: this.settings.requestTimeoutMs, httpsAgent: this.httpsAgent },
    });
  }
}
