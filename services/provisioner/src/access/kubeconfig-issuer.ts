import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@flotilla/auth';
import { Clock } from '@flotilla/service-kit';
import { JoinSecretsRepository } from '../bootstrap/join-secrets.repository.js';
import type { ClusterState } from '../domain/cluster/index.js';
import { apiServerUrl } from '../repositories/integration-events.js';
import { issueClientCertificate } from './client-certificate.js';
import { certificateGroups, renderKubeconfig } from './kubeconfig.js';

export type KubeconfigRefusalCode = 'cluster-not-running' | 'no-api-endpoint' | 'hosted-control-plane-unsupported' | 'cluster-ca-missing';

export class KubeconfigRefusal extends Error {
  override readonly name = 'KubeconfigRefusal';

  constructor(
    readonly code: KubeconfigRefusalCode,
    message: string,
  ) {
    super(message);
  }
}

/** Where a kubeconfig of the cluster would point, or why none can be given now. Pure. */
export function kubeconfigServer(cluster: Pick<ClusterState, 'id' | 'model' | 'phase' | 'apiServerEndpoint'>): string {
  switch (cluster.model) {
    case 'hosted-control-plane':
      // The seam for hosted control planes: their API servers run in a management cluster, with a
      // CA of the tenant control plane rather than the join set's. Until those are real, none is given.
      throw new KubeconfigRefusal('hosted-control-plane-unsupported', `cluster "${cluster.id}" has a hosted control plane: kubeconfigs of hosted control planes are not issued yet`);
    case 'platform-provisioned':
    case 'user-provisioned':
      break;
  }
  if (cluster.phase !== 'Running') throw new KubeconfigRefusal('cluster-not-running', `cluster "${cluster.id}" is ${cluster.phase}: a kubeconfig is given for a Running cluster only`);
  if (cluster.apiServerEndpoint === null) throw new KubeconfigRefusal('no-api-endpoint', `cluster "${cluster.id}" has no API server endpoint yet`);
  return apiServerUrl(cluster.apiServerEndpoint);
}

export interface IssuedKubeconfig {
  kubeconfig: string;
  serial: string;
  groups: string[];
  expiresAt: Date;
}

/**
 * Kubeconfigs of the clusters Flotilla built: a client certificate for the caller, signed by the
 * cluster's CA (kept sealed with its join secrets), for `ttlMs`. The key is made for each
 * kubeconfig and kept nowhere.
 */
@Injectable()
export class KubeconfigIssuer {
  constructor(
    @Inject(JoinSecretsRepository) private readonly joinSecrets: JoinSecretsRepository,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async issue(cluster: ClusterState, caller: Principal, ttlMs: number): Promise<IssuedKubeconfig> {
    const server = kubeconfigServer(cluster);
    // Read, never made here: a running cluster's CA was made before its first machine booted.
    const secrets = await this.joinSecrets.find(cluster.id);
    if (!secrets) throw new KubeconfigRefusal('cluster-ca-missing', `cluster "${cluster.id}" has no CA recorded by the provisioner`);
    const groups = certificateGroups(caller.role);
    const certificate = await issueClientCertificate(secrets.ca, { user: caller.subject, groups }, this.clock.now(), ttlMs);
    const kubeconfig = renderKubeconfig({
      clusterId: cluster.id,
      server,
      caCertificatePem: secrets.ca.certificatePem,
      user: caller.subject,
      certificatePem: certificate.certificatePem,
      privateKeyPem: certificate.privateKeyPem,
    });
    return { kubeconfig, serial: certificate.serial, groups, expiresAt: certificate.notAfter };
  }
}
