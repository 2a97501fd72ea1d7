import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import { SecretStore } from '@flotilla/secrets';
import { Clock } from '@flotilla/service-kit';
import { CertificateAuthority, generateCa } from './certificates.js';

const CA_REF = 'tunnel-broker/agent-ca';
const CA_KIND = 'certificate-authority';
/** Ten years: agents keep its certificate; their own are renewed every few weeks. */
const CA_VALID_DAYS = 3650;

/**
 * The broker's certificate authority: it signs agents' client certificates and the tunnel
 * listener's certificate. Made by the first replica that starts (under a lock, so replicas agree
 * on one), its key sealed in the broker's secret store and never anywhere else.
 */
@Injectable()
export class BrokerCa implements OnApplicationBootstrap {
  private authority: CertificateAuthority | undefined;

  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(SecretStore) private readonly secrets: SecretStore,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.load();
  }

  /** The CA, loaded (or made) once. */
  async load(): Promise<CertificateAuthority> {
    if (this.authority) return this.authority;
    this.authority = await this.unitOfWork.run(async () => {
      await this.unitOfWork.manager.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [CA_REF]);
      const stored = await this.secrets.reveal(CA_REF);
      const description = stored ? await this.secrets.describe(CA_REF) : undefined;
      if (stored && description?.metadata['certificate']) {
        return CertificateAuthority.load({ certificatePem: description.metadata['certificate'], privateKeyPem: stored.revealString() });
      }
      const made = await generateCa('Flotilla tunnel CA', CA_VALID_DAYS, this.clock.now());
      await this.secrets.put(CA_REF, CA_KIND, made.privateKeyPem, { certificate: made.certificatePem });
      return CertificateAuthority.load(made);
    });
    return this.authority;
  }

  get current(): CertificateAuthority {
    if (!this.authority) throw new Error('the tunnel CA is not loaded yet');
    return this.authority;
  }
}
