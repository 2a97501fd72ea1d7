import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import { SecretStore } from '@flotilla/secrets';
import { Clock } from '@flotilla/service-kit';
import { generateJoinSecrets, type JoinSecrets, JoinSecretsSchema } from './join-secrets.js';

export const JOIN_SECRETS_KIND = 'kubeadm-join';

/** Where a cluster's join material is stored. */
export function joinSecretsRef(clusterId: string): string {
  return `cluster/${clusterId}/join`;
}

/** A stored record that is not a valid set for its cluster: never used, never overwritten. */
export class JoinSecretsCorruptError extends Error {
  override readonly name = 'JoinSecretsCorruptError';
}

/**
 * Each cluster's join material, sealed in the secret store and made on first use. Every machine
 * of a cluster must get the same set, so when two replicas ask at once only one set is stored:
 * the insert happens under a transaction-scoped advisory lock on the reference, after a second
 * look (the store's `put` replaces, it has no insert-if-absent).
 */
@Injectable()
export class JoinSecretsRepository {
  constructor(
    @Inject(SecretStore) private readonly store: SecretStore,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async forCluster(clusterId: string): Promise<JoinSecrets> {
    const existing = await this.find(clusterId);
    if (existing) return existing;
    // Key generation is CPU work: done before the transaction, thrown away if another replica won.
    const fresh = await generateJoinSecrets(clusterId, this.clock.now());
    const ref = joinSecretsRef(clusterId);
    return this.unitOfWork.run(async () => {
      await this.unitOfWork.manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`flotilla:secret:${ref}`]);
      const winner = await this.find(clusterId);
      if (winner) return winner;
      // The hash is public (it is in every join configuration): kept readable for diagnostics.
      await this.store.put(ref, JOIN_SECRETS_KIND, JSON.stringify(fresh), { clusterId, caCertHash: fresh.caCertHash });
      return fresh;
    });
  }

  /** The cluster's set, if it has one. */
  async find(clusterId: string): Promise<JoinSecrets | undefined> {
    const ref = joinSecretsRef(clusterId);
    const secret = await this.store.reveal(ref);
    if (!secret) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(secret.revealString());
    } catch {
      throw new JoinSecretsCorruptError(`secret "${ref}" is not JSON`);
    }
    const result = JoinSecretsSchema.safeParse(parsed);
    // Field names only: the issues' messages could quote values.
    if (!result.success) throw new JoinSecretsCorruptError(`secret "${ref}" is not a join secret set (${result.error.issues.map((issue) => issue.path.join('.')).join(', ')})`);
    if (result.data.clusterId !== clusterId) throw new JoinSecretsCorruptError(`secret "${ref}" belongs to another cluster`);
    return result.data;
  }

  /** When the cluster is deleted (in its transaction). */
  async delete(clusterId: string): Promise<boolean> {
    return this.store.delete(joinSecretsRef(clusterId));
  }
}
