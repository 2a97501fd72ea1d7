import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ClusterDeleted, clusterIdFor, ClusterImportRequested, TunnelRegistrationIssued, TunnelRegistrationRevoked } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { Secret } from '@flotilla/secrets';
import { Clock } from '@flotilla/service-kit';
import { renderRegistrationManifest } from './manifest.js';
import { tunnelImportRequest } from '../domain/tunnel-cluster.js';
import { decideRedeemed, decideRevoke, generateToken, issueRegistration, statusOf, type RedeemedDecision, type Redemption, type Registration, type RegistrationStatus } from './registration.js';
import { REGISTRATION_SETTINGS, type RegistrationSettings } from './registration-settings.js';
import { RegistrationTokenRepository } from './registration-token.repository.js';

/** What anyone may see of a registration: never the token. */
export interface RegistrationView {
  registrationId: string;
  clusterId: string;
  clusterName: string;
  tunnelUrl: string;
  labels: Record<string, string>;
  status: RegistrationStatus;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  revokedAt: string | null;
  /** The agent that registered with the token, once the tunnel broker redeemed it. */
  agentId: string | null;
}

/** The answer to an issue: the token and the manifest (which holds it) exist only here, once. */
export interface IssuedRegistration {
  registrationId: string;
  clusterId: string;
  expiresAt: string;
  token: Secret;
  /** Multi-document YAML; it contains the token, hence a Secret. */
  manifest: Secret;
}

export type IssueOutcome = { ok: true; issued: IssuedRegistration } | { ok: false; reason: 'tunnel-url-missing' };
export type RevokeOutcome = { ok: true; registration: RegistrationView } | { ok: false; reason: 'token-unknown' | 'token-used' };

/**
 * Register mode: one-time tokens for clusters the global side cannot reach, and the manifest that
 * installs the tunnel agent with one. The tunnel broker learns of each token (its hash) and of its
 * revocation from the bus, redeems it once when the agent presents it, and says so on the bus:
 * the cluster is then imported through its tunnel.
 */
@Injectable()
export class RegistrationService {
  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(RegistrationTokenRepository) private readonly registrations: RegistrationTokenRepository,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(REGISTRATION_SETTINGS) private readonly settings: RegistrationSettings,
  ) {}

  async issue(request: { clusterName: string; tunnelUrl?: string | undefined; ttlHours?: number | undefined; labels?: Record<string, string> | undefined }): Promise<IssueOutcome> {
    const tunnelUrl = request.tunnelUrl ?? this.settings.tunnelUrl;
    if (tunnelUrl === undefined) return { ok: false, reason: 'tunnel-url-missing' };
    const { token, tokenHash } = generateToken();
    const registration = issueRegistration(
      {
        id: randomUUID(),
        clusterId: clusterIdFor(request.clusterName),
        clusterName: request.clusterName,
        tunnelUrl,
        tokenHash,
        ttlHours: request.ttlHours ?? this.settings.defaultTtlHours,
        labels: request.labels,
      },
      this.clock.now(),
    );
    // The broker gets the hash with the row, or neither exists.
    await this.unitOfWork.run(async () => {
      await this.registrations.insert(registration);
      this.unitOfWork.emit(TunnelRegistrationIssued, registration.clusterId, {
        registrationId: registration.id,
        clusterName: registration.clusterName,
        tokenHash: registration.tokenHash,
        expiresAt: registration.expiresAt,
        ...(request.labels === undefined ? {} : { labels: request.labels }),
      });
    });
    const manifest = renderRegistrationManifest({
      clusterId: registration.clusterId,
      registrationId: registration.id,
      token,
      tunnelUrl,
      // The configured CA belongs to the configured URL; a request naming another URL brings its own trust.
      tunnelCaPem: tunnelUrl === this.settings.tunnelUrl ? this.settings.tunnelCaPem : null,
      agentImage: this.settings.agentImage,
    });
    return {
      ok: true,
      issued: { registrationId: registration.id, clusterId: registration.clusterId, expiresAt: registration.expiresAt, token: new Secret(token), manifest: new Secret(manifest.yaml) },
    };
  }

  async find(id: string): Promise<RegistrationView | undefined> {
    const registration = await this.registrations.find(id);
    return registration ? this.view(registration) : undefined;
  }

  async revoke(id: string): Promise<RevokeOutcome> {
    return this.unitOfWork.run(async () => {
      const registration = await this.registrations.findForUpdate({ id });
      if (!registration) return { ok: false, reason: 'token-unknown' };
      const decision = decideRevoke(registration, this.clock.now());
      if (!decision.ok) return decision;
      if (decision.changed) {
        await this.registrations.save(decision.registration);
        this.unitOfWork.emit(TunnelRegistrationRevoked, registration.clusterId, { registrationId: registration.id });
      }
      return { ok: true, registration: this.view(decision.registration) };
    });
  }

  /**
   * The tunnel broker redeemed a registration (TunnelRegistrationRedeemed): recorded once, in the
   * caller's transaction, with what follows from it: the cluster's import through its tunnel, or,
   * for a registration revoked meanwhile, its removal (ClusterDeleted: the broker then revokes the
   * agent's certificate). A redelivery changes nothing.
   */
  async recordRedeemed(registrationId: string, redemption: Redemption): Promise<RedeemedDecision> {
    return this.unitOfWork.run(async () => {
      const decision = decideRedeemed(await this.registrations.findForUpdate({ id: registrationId }), redemption);
      switch (decision.kind) {
        case 'unknown':
        case 'unchanged':
          return decision;
        case 'import':
          await this.registrations.save(decision.registration);
          this.unitOfWork.emit(ClusterImportRequested, decision.registration.clusterId, tunnelImportRequest(decision.registration));
          return decision;
        case 'withdraw':
          await this.registrations.save(decision.registration);
          this.unitOfWork.emit(ClusterDeleted, decision.registration.clusterId, { model: 'connected' });
          return decision;
      }
    });
  }

  private view(registration: Registration): RegistrationView {
    return {
      registrationId: registration.id,
      clusterId: registration.clusterId,
      clusterName: registration.clusterName,
      tunnelUrl: registration.tunnelUrl,
      labels: registration.labels,
      status: statusOf(registration, this.clock.now()),
      createdAt: registration.createdAt,
      expiresAt: registration.expiresAt,
      usedAt: registration.usedAt,
      revokedAt: registration.revokedAt,
      agentId: registration.agentId,
    };
  }
}
