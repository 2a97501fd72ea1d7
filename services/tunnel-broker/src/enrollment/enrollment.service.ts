import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { TunnelRegistrationRedeemed } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { Clock } from '@flotilla/service-kit';
import type { Enrolled, EnrollmentBody } from '@flotilla/tunnel';
import { AgentGateway } from '../agents/agent-gateway.js';
import { AGENT_SETTINGS, type AgentSettings } from '../config.js';
import { BrokerCa } from '../pki/broker-ca.js';
import { EnrollmentRepository } from './enrollment.repository.js';
import { decideEnrollment, looksLikeToken, type EnrollmentRefusal } from './registration.js';

export type { Enrolled };

export type EnrollmentOutcome = { ok: true; enrolled: Enrolled } | { ok: false; reason: EnrollmentRefusal; clusterId?: string };

/**
 * An agent presents its one-time token and a certificate request; it gets its cluster's client
 * certificate. The token's row is locked for the transaction, so of two replicas (or two agents)
 * presenting it at once exactly one succeeds; the importer hears of it through
 * TunnelRegistrationRedeemed, emitted in the same transaction.
 */
@Injectable()
export class EnrollmentService {
  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(EnrollmentRepository) private readonly enrollment: EnrollmentRepository,
    @Inject(BrokerCa) private readonly ca: BrokerCa,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AGENT_SETTINGS) private readonly settings: AgentSettings,
    @Inject(AgentGateway) private readonly gateway: AgentGateway,
  ) {}

  /** Throws CertificateRequestError for a request the CA will not sign (nothing is redeemed then). */
  async enroll(request: EnrollmentBody): Promise<EnrollmentOutcome> {
    if (!looksLikeToken(request.token)) return { ok: false, reason: 'token-unknown' };
    const tokenHash = createHash('sha256').update(request.token, 'utf8').digest('hex');
    const authority = await this.ca.load();
    return this.unitOfWork.run(async () => {
      const registration = await this.enrollment.registrationForUpdate(tokenHash);
      const now = this.clock.now();
      const decision = decideEnrollment(registration, now);
      if (!decision.ok || !registration) return { ok: false, reason: decision.ok ? 'token-unknown' : decision.reason, ...(registration ? { clusterId: registration.clusterId } : {}) };
      const issued = await authority.signAgentRequest(request.csr, registration.clusterId, this.settings.certificateTtlS, now);
      await this.enrollment.markRedeemed(registration.registrationId, now);
      await this.enrollment.upsertCluster({ clusterId: registration.clusterId, clusterName: registration.clusterName, labels: registration.labels });
      await this.enrollment.addCertificate({
        serialNumber: issued.serialNumber,
        clusterId: registration.clusterId,
        registrationId: registration.registrationId,
        agentId: request.agentId,
        agentVersion: request.agentVersion,
        issuedAt: now,
        notAfter: issued.notAfter.toISOString(),
      });
      this.unitOfWork.emit(TunnelRegistrationRedeemed, registration.clusterId, {
        registrationId: registration.registrationId,
        agentId: request.agentId,
        certificateSerial: issued.serialNumber,
        certificateExpiresAt: issued.notAfter.toISOString(),
      });
      return {
        ok: true,
        enrolled: {
          clusterId: registration.clusterId,
          certificate: issued.certificatePem,
          caCertificate: authority.certificatePem,
          tunnelAddress: this.gateway.agentAddress,
          expiresAt: issued.notAfter.toISOString(),
        },
      };
    });
  }
}
