import { Controller, Inject, Logger } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { TunnelRegistrationRedeemed, type EventOf } from '@flotilla/contracts';
import { OnEvent, PermanentError } from '@flotilla/messaging';
import { RegistrationService } from '../registration/registration.service.js';

/** What the tunnel broker says of the registrations issued here. */
@Controller()
export class RegistrationEventsHandler {
  private readonly logger = new Logger(RegistrationEventsHandler.name);

  constructor(@Inject(RegistrationService) private readonly registrations: RegistrationService) {}

  /**
   * An agent presented its token and the broker gave it a certificate: the registration is used,
   * and the cluster is imported through its tunnel (ClusterImportRequested, checked once the
   * tunnel is up). Recorded once: a redelivery, or a second report, changes nothing.
   */
  @OnEvent(TunnelRegistrationRedeemed)
  async onRedeemed(@Payload() event: EventOf<typeof TunnelRegistrationRedeemed>): Promise<void> {
    const { registrationId, agentId, certificateSerial, certificateExpiresAt } = event.data;
    const decision = await this.registrations.recordRedeemed(registrationId, { agentId, certificateSerial, certificateExpiresAt, at: event.time });
    switch (decision.kind) {
      case 'unknown':
        // Only the importer issues registrations: one it never issued is a mistake to be seen.
        throw new PermanentError(`registration ${registrationId} was not issued by the importer`, 'registration-unknown');
      case 'unchanged':
        return;
      case 'import':
        this.logger.log({ msg: 'registration redeemed: importing the cluster through its tunnel', clusterId: decision.registration.clusterId, registrationId, agentId });
        return;
      case 'withdraw':
        this.logger.warn({ msg: 'a revoked registration was redeemed before the broker learnt of the revocation: the cluster is removed again', clusterId: decision.registration.clusterId, registrationId, agentId });
        return;
    }
  }
}
