import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { clusterIdFor } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { Secret } from '@flotilla/secrets';
import { Clock } from '@flotilla/service-kit';
import { renderRegistrationManifest } from './manifest.js';
import { decideRedeem, decideRevoke, generateToken, hashToken, issueRegistration, looksLikeToken, statusOf, type RedeemFailure, type Registration, type RegistrationStatus } from './registration.js';
import { REGISTRATION_SETTINGS, type RegistrationSettings } from './registration-settings.js';
import { RegistrationTokenRepository } from './registration-token.repository.js';

/** What anyone may see of a registration: never the token. */
export interface RegistrationView {
  registrationId: string;
  clusterId: string;
  clusterName: string;
  tunnelUrl: string;
  status: RegistrationStatus;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  revokedAt: string | null;
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
export type RedeemOutcome = { ok: true; registration: RegistrationView } | { ok: false; reason: RedeemFailure };

/**
 * Register mode: one-time tokens for clusters the global side cannot reach, and the manifest that
 * installs the tunnel agent with one. A token is redeemable once, until it expires or is revoked.
 */
@Injectable()
export class RegistrationService {
  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(RegistrationTokenRepository) private readonly registrations: RegistrationTokenRepository,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(REGISTRATION_SETTINGS) private readonly settings: RegistrationSettings,
  ) {}

  async issue(request: { clusterName: string; tunnelUrl?: string | undefined; ttlHours?: number | undefined }): Promise<IssueOutcome> {
    const tunnelUrl = request.tunnelUrl ?? this.settings.tunnelUrl;
    if (tunnelUrl === undefined) return { ok: false, reason: 'tunnel-url-missing' };
    const { token, tokenHash } = generateToken();
    const registration = issueRegistration(
      { id: randomUUID(), clusterId: clusterIdFor(request.clusterName), clusterName: request.clusterName, tunnelUrl, tokenHash, ttlHours: request.ttlHours ?? this.settings.defaultTtlHours },
      this.clock.now(),
    );
    await this.registrations.insert(registration);
    const manifest = renderRegistrationManifest({ clusterId: registration.clusterId, registrationId: registration.id, token, tunnelUrl, agentImage: this.settings.agentImage });
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
      if (decision.changed) await this.registrations.save(decision.registration);
      return { ok: true, registration: this.view(decision.registration) };
    });
  }

  /** Accepts a token once: the first redeem marks it used, atomically; every later one gets token-used. */
  async redeem(token: Secret | string): Promise<RedeemOutcome> {
    const text = token instanceof Secret ? token.revealString() : token;
    if (!looksLikeToken(text)) return { ok: false, reason: 'token-unknown' };
    return this.unitOfWork.run(async () => {
      const registration = await this.registrations.findForUpdate({ tokenHash: hashToken(text) });
      const decision = decideRedeem(registration, this.clock.now());
      if (!decision.ok) return decision;
      await this.registrations.save(decision.registration);
      return { ok: true, registration: this.view(decision.registration) };
    });
  }

  private view(registration: Registration): RegistrationView {
    return {
      registrationId: registration.id,
      clusterId: registration.clusterId,
      clusterName: registration.clusterName,
      tunnelUrl: registration.tunnelUrl,
      status: statusOf(registration, this.clock.now()),
      createdAt: registration.createdAt,
      expiresAt: registration.expiresAt,
      usedAt: registration.usedAt,
      revokedAt: registration.revokedAt,
    };
  }
}
