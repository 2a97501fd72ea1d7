import { Inject, Injectable } from '@nestjs/common';
import { Secret } from '@flotilla/secrets';
import { bindingOf } from '../credentials/binding.js';
import { TUNNEL_CREDENTIAL_REF } from '../domain/tunnel-cluster.js';
import type { EndpointOutcome } from './cluster-access.js';
import type { TunnelTarget } from './cluster-probe.js';

/** Where the importer reaches the tunnel broker's proxy (TUNNEL_BROKER_URL, TUNNEL_BROKER_CA_FILE). */
export interface TunnelBrokerSettings {
  /** The broker's internal https:// base URL; undefined: clusters registered through the tunnel cannot be reached. */
  url: string | undefined;
  /** PEM of the CA that signed the broker's certificate; null: the system roots. */
  caCertificatePem: string | null;
}

export const TUNNEL_BROKER_SETTINGS = Symbol('TunnelBrokerSettings');

/**
 * The importer's own identity towards other services: a short-lived bearer token for the subject
 * `service:importer`, renewed as it nears its end. The tunnel broker impersonates that subject
 * in the cluster, so the cluster's RBAC and audit log see the importer.
 */
export interface ServiceToken {
  token(): Promise<string>;
}

export const SERVICE_TOKEN = Symbol('ServiceToken');

/** The API server of a cluster as the broker's proxy serves it: kubectl's `--server` for that cluster. */
export function tunnelApiServer(brokerUrl: string, clusterId: string): string {
  return `${brokerUrl.replace(/\/+$/, '')}/api/v1/tunnels/${encodeURIComponent(clusterId)}/k8s`;
}

const fail = (code: 'tunnel-unavailable', message: string): EndpointOutcome => ({ ok: false, failures: [{ code, message }] });

/**
 * The endpoint of a cluster registered through the tunnel: the broker's proxy for that cluster,
 * with the importer's own token, bound to that URL and the broker's CA like any credential (the
 * token goes nowhere else, whatever a redirect says).
 */
@Injectable()
export class TunnelEndpoints {
  constructor(
    @Inject(TUNNEL_BROKER_SETTINGS) private readonly settings: TunnelBrokerSettings,
    @Inject(SERVICE_TOKEN) private readonly identity: ServiceToken,
  ) {}

  async resolve(target: TunnelTarget): Promise<EndpointOutcome> {
    const { url, caCertificatePem } = this.settings;
    if (url === undefined) return fail('tunnel-unavailable', `${target.clusterId} is reached only through the tunnel broker, and TUNNEL_BROKER_URL is not set`);
    const boundTo = bindingOf(tunnelApiServer(url, target.clusterId), caCertificatePem);
    // TUNNEL_BROKER_URL is checked at start-up: an https:// URL with no query, fragment or user.
    if (!boundTo) return fail('tunnel-unavailable', `TUNNEL_BROKER_URL (${url}) is not an https:// URL the importer sends its token to`);
    let token: string;
    try {
      token = await this.identity.token();
    } catch (error) {
      return fail('tunnel-unavailable', `the importer has no token of its own for the tunnel broker: ${error instanceof Error ? error.message : String(error)}`);
    }
    return {
      ok: true,
      endpoint: {
        apiServer: boundTo.apiServer,
        caCertificatePem,
        auth: { kind: 'bearer-token', token: new Secret(token) },
        expiresAt: null,
        credentialRef: TUNNEL_CREDENTIAL_REF,
        boundTo,
        via: 'tunnel',
      },
    };
  }
}
