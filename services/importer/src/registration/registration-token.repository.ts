import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import type { Registration } from './registration.js';
import { RegistrationTokenEntity } from './registration-token.entity.js';

/** Registrations in the importer's `registration_tokens` table; joins the caller's transaction. */
@Injectable()
export class RegistrationTokenRepository {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  private get tokens() {
    return this.unitOfWork.manager.getRepository(RegistrationTokenEntity);
  }

  async insert(registration: Registration): Promise<void> {
    await this.tokens.insert(toEntity(registration));
  }

  async find(id: string): Promise<Registration | undefined> {
    const entity = await this.tokens.findOneBy({ id });
    return entity ? toRegistration(entity) : undefined;
  }

  /** Reads and locks a registration until the transaction ends: concurrent redeems and revokes queue here. */
  async findForUpdate(where: { id: string } | { tokenHash: string }): Promise<Registration | undefined> {
    const entity = await this.tokens.createQueryBuilder('registration').setLock('pessimistic_write').where(where).getOne();
    return entity ? toRegistration(entity) : undefined;
  }

  /**
   * Whether the tunnel broker redeemed a registration of this cluster that was not revoked (its
   * agent holds a certificate), after `since` when given: a cluster removed since is refused by the broker.
   */
  async isRedeemed(clusterId: string, since?: string): Promise<boolean> {
    const query = this.tokens.createQueryBuilder('registration').where('registration.cluster_id = :clusterId', { clusterId }).andWhere('registration.used_at IS NOT NULL').andWhere('registration.revoked_at IS NULL');
    if (since !== undefined) query.andWhere('registration.used_at > :since', { since: new Date(since) });
    return (await query.getCount()) > 0;
  }

  /** Every registration of a cluster, oldest first, locked until the transaction ends (a redeem or revoke of one waits). */
  async forClusterForUpdate(clusterId: string): Promise<Registration[]> {
    const entities = await this.tokens.createQueryBuilder('registration').setLock('pessimistic_write').where('registration.cluster_id = :clusterId', { clusterId }).orderBy('registration.created_at', 'ASC').addOrderBy('registration.id', 'ASC').getMany();
    return entities.map(toRegistration);
  }

  async save(registration: Registration): Promise<void> {
    const { id, ...rest } = toEntity(registration);
    await this.tokens.update({ id }, rest);
  }
}

function toEntity(registration: Registration): RegistrationTokenEntity {
  const date = (value: string | null) => (value === null ? null : new Date(value));
  return {
    ...registration,
    createdAt: new Date(registration.createdAt),
    expiresAt: new Date(registration.expiresAt),
    revokedAt: date(registration.revokedAt),
    usedAt: date(registration.usedAt),
    certificateExpiresAt: date(registration.certificateExpiresAt),
  };
}

function toRegistration(entity: RegistrationTokenEntity): Registration {
  return {
    id: entity.id,
    clusterId: entity.clusterId,
    clusterName: entity.clusterName,
    tunnelUrl: entity.tunnelUrl,
    tokenHash: entity.tokenHash,
    labels: entity.labels,
    createdAt: entity.createdAt.toISOString(),
    expiresAt: entity.expiresAt.toISOString(),
    revokedAt: entity.revokedAt?.toISOString() ?? null,
    usedAt: entity.usedAt?.toISOString() ?? null,
    agentId: entity.agentId,
    certificateSerial: entity.certificateSerial,
    certificateExpiresAt: entity.certificateExpiresAt?.toISOString() ?? null,
  };
}
