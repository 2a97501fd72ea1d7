import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import { SecretStore } from '@flotilla/secrets';
import { Clock } from '@flotilla/service-kit';
import { Coalescer } from '../repositories/coalescer.js';
import type { JoinMaterialIssuer } from './join-material-issuer.js';
import { BOOTSTRAP_TOKEN_TTL_MS, generateBootstrapToken, generateJoinSecrets, type JoinSecrets, JoinSecretsSchema, staleJoinMaterial } from './join-secrets.js';

export const JOIN_SECRETS_KIND = 'kubeadm-join';

/** Where a cluster's join material is stored. */
export function joinSecretsRef(clusterId: string): string {
  return `cluster/${clusterId}/join`;
}

/** A stored record that is not a valid set for its cluster: never used, never overwritten. */
export class JoinSecretsCorruptError extends Error {
  override readonly name = 'JoinSecretsCorruptError';
}

/** What a joining machine needs of its cluster's set, and how long it may take to join. */
export interface JoinWindow {
  controlPlane: boolean;
  /** From now until the machine has joined at the latest (its deadline, or the join command's limit). */
  windowMs: number;
}

/**
 * Each cluster's join material, sealed in the secret store and made on first use. Every machine
 * of a cluster must get the same CA and certificate key, so when two replicas ask at once only
 * one set is stored: the insert happens under a transaction-scoped advisory lock on the
 * reference, after a second look (the store's `put` replaces, it has no insert-if-absent).
 * Later joins renew the token and the uploaded certificates through `forJoin`.
 */
@Injectable()
export class JoinSecretsRepository {
  /** New sets made at the same time, stored together (`storeNew`). */
  private readonly creates = new Coalescer<JoinSecrets, JoinSecrets>((sets) => this.storeNew(sets));

  constructor(
    @Inject(SecretStore) private readonly store: SecretStore,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async forCluster(clusterId: string): Promise<JoinSecrets> {
    const existing = await this.find(clusterId);
    if (existing) return existing;
    // Key generation is CPU work: done before the transaction, thrown away if another replica won.
    return this.creates.load(await generateJoinSecrets(clusterId, this.clock.now()));
  }

  /**
   * Stores new sets unless their clusters have one by now (the winner's is returned instead):
   * the sets made at the same time (a round's clusters coming up) in one transaction, under the
   * advisory locks of all their references, taken in one order.
   */
  private async storeNew(sets: readonly JoinSecrets[]): Promise<JoinSecrets[]> {
    return this.unitOfWork.run(async () => {
      const refs = [...new Set(sets.map((set) => `flotilla:secret:${joinSecretsRef(set.clusterId)}`))].sort();
      await this.unitOfWork.manager.query(`SELECT count(pg_advisory_xact_lock(hashtextextended(ref, 0))) FROM (SELECT unnest($1::text[]) AS ref ORDER BY 1) refs`, [refs]);
      const stored = new Map<string, JoinSecrets>();
      for (const fresh of sets) {
        const winner = stored.get(fresh.clusterId) ?? (await this.find(fresh.clusterId));
        if (winner) {
          stored.set(fresh.clusterId, winner);
          continue;
        }
        await this.put(fresh);
        stored.set(fresh.clusterId, fresh);
      }
      return sets.map((set) => stored.get(set.clusterId)!);
    });
  }

  /** Public parts (the CA pin, when the token and certificates were made) stay readable for diagnostics. */
  private async put(secrets: JoinSecrets): Promise<void> {
    await this.store.put(joinSecretsRef(secrets.clusterId), JOIN_SECRETS_KIND, JSON.stringify(secrets), {
      clusterId: secrets.clusterId,
      caCertHash: secrets.caCertHash,
      bootstrapTokenMintedAt: secrets.bootstrapTokenMintedAt,
      certificatesUploadedAt: secrets.certificatesUploadedAt,
    });
  }

  /**
   * The set for a machine about to join a cluster that was initialised (not its first control
   * plane, whose `kubeadm init` creates the first token): the stored one while its token, and
   * for a control-plane node the uploaded certificates, last the whole window. Else what does
   * not is made again in the running cluster through `issuer` first, then stored: a token the
   * cluster does not know is never handed out.
   */
  async forJoin(clusterId: string, window: JoinWindow, issuer: JoinMaterialIssuer): Promise<JoinSecrets> {
    const current = await this.forCluster(clusterId);
    // Taken before the cluster is asked: the recorded lifetimes end no later than the real ones.
    const now = this.clock.now();
    const stale = staleJoinMaterial(current, { controlPlane: window.controlPlane, until: new Date(now.getTime() + window.windowMs) });
    if (!stale.bootstrapToken && !stale.certificates) return current;
    let token: string | undefined;
    if (stale.bootstrapToken) {
      token = generateBootstrapToken();
      await issuer.createBootstrapToken(clusterId, token, BOOTSTRAP_TOKEN_TTL_MS);
    }
    // The same key every time: a machine still booting with it finds the certificates re-uploaded under it.
    if (stale.certificates) await issuer.uploadCertificates(clusterId, current.certificateKey);
    const ref = joinSecretsRef(clusterId);
    return this.unitOfWork.run(async () => {
      await this.unitOfWork.manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`flotilla:secret:${ref}`]);
      const stored = (await this.find(clusterId)) ?? current;
      // Another replica may have renewed meanwhile: the newest of each is kept (a token minted
      // here and not kept is never handed out and expires in the cluster).
      const renewed: JoinSecrets = { ...stored };
      if (token !== undefined && Date.parse(stored.bootstrapTokenMintedAt) <= now.getTime()) {
        renewed.bootstrapToken = token;
        renewed.bootstrapTokenMintedAt = now.toISOString();
      }
      if (stale.certificates && Date.parse(stored.certificatesUploadedAt) < now.getTime()) renewed.certificatesUploadedAt = now.toISOString();
      await this.put(renewed);
      return renewed;
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
    const { bootstrapTokenMintedAt, certificatesUploadedAt, ...rest } = result.data;
    if (bootstrapTokenMintedAt !== undefined && certificatesUploadedAt !== undefined) return { ...rest, bootstrapTokenMintedAt, certificatesUploadedAt };
    // A set stored before lifetimes were recorded was made when it was first stored.
    const madeAt = (await this.store.describe(ref))?.createdAt ?? new Date(0).toISOString();
    return { ...rest, bootstrapTokenMintedAt: bootstrapTokenMintedAt ?? madeAt, certificatesUploadedAt: certificatesUploadedAt ?? madeAt };
  }

  /** When the cluster is deleted (in its transaction). */
  async delete(clusterId: string): Promise<boolean> {
    return this.store.delete(joinSecretsRef(clusterId));
  }
}
