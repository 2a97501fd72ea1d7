import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { TunnelRegistrationIssued, TunnelRegistrationRevoked, type EventOf } from '@flotilla/contracts';
import { OnEvent } from '@flotilla/messaging';
import { EnrollmentRepository } from '../enrollment/enrollment.repository.js';

/**
 * The importer's registrations, as hashes: the broker can then redeem a token when an agent
 * presents it, without the token ever crossing the bus or the broker calling the importer.
 */
@Controller()
export class RegistrationEventsHandler {
  constructor(@Inject(EnrollmentRepository) private readonly enrollment: EnrollmentRepository) {}

  @OnEvent(TunnelRegistrationIssued)
  async onIssued(@Payload() event: EventOf<typeof TunnelRegistrationIssued>): Promise<void> {
    const { registrationId, clusterName, tokenHash, expiresAt, labels } = event.data;
    await this.enrollment.addRegistration({ registrationId, clusterId: event.subject, clusterName, tokenHash, expiresAt, labels: labels ?? {} });
  }

  @OnEvent(TunnelRegistrationRevoked)
  async onRevoked(@Payload() event: EventOf<typeof TunnelRegistrationRevoked>): Promise<void> {
    await this.enrollment.revokeRegistration(event.data.registrationId, new Date(event.time));
  }
}
