import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import type { SyncState } from '../domain/cluster-sync.js';
import type { ConnectedCluster, ConnectedClusterState } from '../domain/connected-cluster.js';
import { TUNNEL_CREDENTIAL_REF } from '../domain/tunnel-cluster.js';
import { ConnectedClusterEntity } from '../entities/connected-cluster.entity.js';

/** A managed cluster taken by one sync worker for one re-check. */
export interface SyncClaim {
  cluster: ConnectedCluster;
  sync: SyncState;
  /** Identifies this claim: a result is recorded only if the cluster still carries it. */
  claimedAt: Date;
}

/**
 * A cluster registered through the tunnel is reached only while its tunnel is up (as the broker
 * last said): it is neither checked nor re-checked otherwise.
 */
const REACHABLE_NOW = `(c.credential_ref <> :tunnelRef OR EXISTS (SELECT 1 FROM cluster_tunnels t WHERE t.cluster_id = c.id AND t.state = 'connected'))`;

/** A cluster waiting for its connectivity check (or whose check's lease ran out) that can be reached now. */
const PENDING_CHECK = `c.deleted_at IS NULL AND (c.state = 'Requested' OR (c.state = 'Checking' AND c.check_started_at < :staleBefore))
  AND (c.check_not_before IS NULL OR c.check_not_before <= :now) AND ${REACHABLE_NOW}`;

/** The columns a plain statement reads, named as the entity's properties (what `toView` takes). */
const ENTITY_COLUMNS = [
  'c.id',
  'c.name',
  'c.provider',
  'c.api_server AS "apiServer"',
  'c.cloud',
  'c.credential_ref AS "credentialRef"',
  'c.state',
  'c.attempt',
  'c.request_event_id AS "requestEventId"',
  'c.kubernetes_version AS "kubernetesVersion"',
  'c.distribution',
  'c.node_count AS "nodeCount"',
  'c.reasons',
  'c.warnings',
  'c.policy_revision AS "policyRevision"',
  'c.requested_at AS "requestedAt"',
  'c.check_started_at AS "checkStartedAt"',
  'c.imported_at AS "importedAt"',
  'c.deleted_at AS "deletedAt"',
  'c.last_event_time AS "lastEventTime"',
  'c.sync_failures AS "syncFailures"',
  'c.unreachable_since AS "unreachableSince"',
].join(', ');

export interface ConnectedClusterPage {
  items: ConnectedCluster[];
  total: number;
  nextCursor: string | null;
}

/** Connected clusters in PostgreSQL. Joins the caller's transaction when there is one. */
@Injectable()
export class ConnectedClusterRepository {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  private get clusters() {
    return this.unitOfWork.manager.getRepository(ConnectedClusterEntity);
  }

  /**
   * Reads a cluster and holds it until the transaction ends. The advisory lock covers ids with no
   * row yet, so two first requests for one id cannot both believe it is free.
   */
  async findForUpdate(id: string): Promise<ConnectedCluster | undefined> {
    await this.unitOfWork.manager.query(`SELECT pg_advisory_xact_lock(hashtext('importer.cluster'), hashtext($1))`, [id]);
    const entity = await this.clusters.createQueryBuilder('c').setLock('pessimistic_write').where('c.id = :id', { id }).getOne();
    return entity ? toView(entity) : undefined;
  }

  async find(id: string): Promise<ConnectedCluster | undefined> {
    const entity = await this.clusters.findOneBy({ id });
    return entity ? toView(entity) : undefined;
  }

  async save(cluster: ConnectedCluster): Promise<void> {
    await this.clusters.upsert({ ...toEntity(cluster), updatedAt: new Date() }, ['id']);
  }

  /**
   * Whether `claimPending` would find a cluster, in one plain statement outside any transaction:
   * the import worker asks every poll interval, and most polls find none.
   */
  async hasPending(staleBefore: Date, now: Date): Promise<boolean> {
    const found: unknown = await this.clusters.createQueryBuilder('c').select('1').where(PENDING_CHECK, { staleBefore, now, tunnelRef: TUNNEL_CREDENTIAL_REF }).limit(1).getRawOne();
    return found !== undefined;
  }

  /**
   * Takes clusters waiting for a connectivity check, and checks whose worker vanished (lease run
   * out); a cluster registered through the tunnel once its tunnel is up. SKIP LOCKED: replicas
   * take disjoint sets and never wait on each other.
   */
  async claimPending(limit: number, staleBefore: Date, now: Date): Promise<ConnectedCluster[]> {
    const entities = await this.clusters
      .createQueryBuilder('c')
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .where(PENDING_CHECK, { staleBefore, now, tunnelRef: TUNNEL_CREDENTIAL_REF })
      .orderBy('c.requested_at', 'ASC')
      .limit(limit)
      .getMany();
    return entities.map(toView);
  }

  /**
   * Takes managed clusters due for a re-check. The claim is a lease: next_sync_at moves to the
   * end of it, so a replica that dies mid-check leaves the cluster to be taken again then. SKIP
   * LOCKED: replicas take disjoint sets and never wait on each other.
   */
  async claimDueForSync(limit: number, now: Date, leaseMs: number): Promise<SyncClaim[]> {
    // One statement, no transaction (the sync worker asks every poll interval, mostly for nothing):
    // its row locks end with it, and the lease holds the clusters from then on.
    const rows: ConnectedClusterEntity[] = await this.unitOfWork.manager.query(
      `WITH claimed AS (
         UPDATE connected_clusters c SET sync_claimed_at = $1, next_sync_at = $3
           FROM (SELECT c.id FROM connected_clusters c
                  WHERE c.deleted_at IS NULL AND c.state IN ('Imported', 'Unreachable') AND (c.next_sync_at IS NULL OR c.next_sync_at <= $1)
                    AND ${REACHABLE_NOW.replace(':tunnelRef', '$4')}
                  ORDER BY c.next_sync_at ASC NULLS FIRST LIMIT $2 FOR UPDATE SKIP LOCKED) due
          WHERE c.id = due.id
          RETURNING ${ENTITY_COLUMNS})
       SELECT * FROM claimed`,
      [now, limit, new Date(now.getTime() + leaseMs), TUNNEL_CREDENTIAL_REF],
    );
    return rows.map((entity) => ({
      cluster: toView(entity),
      sync: { failures: entity.syncFailures, unreachableSince: iso(entity.unreachableSince) },
      claimedAt: now,
    }));
  }

  /** The sync state of a cluster locked by findForUpdate, with the claim it carries. */
  async syncOf(id: string): Promise<{ sync: SyncState; claimedAt: Date | null } | undefined> {
    const entity = await this.clusters.findOneBy({ id });
    return entity ? { sync: { failures: entity.syncFailures, unreachableSince: iso(entity.unreachableSince) }, claimedAt: entity.syncClaimedAt } : undefined;
  }

  /** Records a re-check: the new sync state and when the next one is due; the claim is released. */
  async recordSync(id: string, sync: SyncState, nextSyncAt: Date, at: Date): Promise<void> {
    await this.clusters.update(
      { id },
      { syncFailures: sync.failures, unreachableSince: date(sync.unreachableSince), nextSyncAt, lastSyncedAt: at, syncClaimedAt: null },
    );
  }

  /** Gives a claim back unrecorded (shutdown, or its tunnel went down during the check): due again at once. */
  async releaseSync(id: string, claimedAt: Date): Promise<void> {
    await this.clusters.update({ id, syncClaimedAt: claimedAt }, { syncClaimedAt: null, nextSyncAt: null });
  }

  /** A check the tunnel could not carry: the cluster is not claimed again before `notBefore`. */
  async deferCheck(id: string, notBefore: Date | null): Promise<void> {
    await this.clusters.update({ id }, { checkNotBefore: notBefore });
  }

  /** Re-checks a managed cluster at the next round (its tunnel is up again), unless a re-check is under way. */
  async syncSoon(id: string, at: Date): Promise<void> {
    await this.clusters.createQueryBuilder().update().set({ nextSyncAt: at }).where('id = :id AND sync_claimed_at IS NULL', { id }).execute();
  }

  /** Other clusters still under management (or on their way) that use a credential: it must stay. */
  async othersUsingCredential(credentialRef: string, exceptId: string): Promise<string[]> {
    const rows: { id: string }[] = await this.unitOfWork.manager.query(
      // Public cloud clusters (src/managed) keep their account until their deletion at the cloud is done.
      `SELECT id FROM connected_clusters WHERE credential_ref = $1 AND id <> $2 AND deleted_at IS NULL AND state <> 'Rejected'
       UNION SELECT id FROM managed_clusters WHERE credential_ref = $1 AND id <> $2 AND phase <> 'Deleted'
       ORDER BY id LIMIT 10`,
      [credentialRef, exceptId],
    );
    return rows.map((row) => row.id);
  }

  /** A freshly imported cluster: its re-checks start from a clean slate. */
  async scheduleSync(id: string, nextSyncAt: Date): Promise<void> {
    await this.clusters.update({ id }, { syncFailures: 0, unreachableSince: null, nextSyncAt, syncClaimedAt: null, lastSyncedAt: null });
  }

  /**
   * `save` and `scheduleSync` in one plain statement, for a cluster that becomes imported now (a
   * public cloud cluster the importer created, once ready): hundreds come ready together.
   */
  async saveImported(cluster: ConnectedCluster, nextSyncAt: Date): Promise<void> {
    await this.unitOfWork.manager.query(
      `INSERT INTO connected_clusters (id, name, provider, api_server, cloud, credential_ref, state, attempt, request_event_id, kubernetes_version, distribution,
         node_count, reasons, warnings, policy_revision, requested_at, check_started_at, imported_at, deleted_at, last_event_time,
         next_sync_at, sync_claimed_at, sync_failures, unreachable_since, last_synced_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, NULL, 0, NULL, NULL, now())
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, provider = EXCLUDED.provider, api_server = EXCLUDED.api_server, cloud = EXCLUDED.cloud,
         credential_ref = EXCLUDED.credential_ref, state = EXCLUDED.state, attempt = EXCLUDED.attempt, request_event_id = EXCLUDED.request_event_id,
         kubernetes_version = EXCLUDED.kubernetes_version, distribution = EXCLUDED.distribution, node_count = EXCLUDED.node_count, reasons = EXCLUDED.reasons,
         warnings = EXCLUDED.warnings, policy_revision = EXCLUDED.policy_revision, requested_at = EXCLUDED.requested_at, check_started_at = EXCLUDED.check_started_at,
         imported_at = EXCLUDED.imported_at, deleted_at = EXCLUDED.deleted_at, last_event_time = EXCLUDED.last_event_time, next_sync_at = EXCLUDED.next_sync_at,
         sync_claimed_at = NULL, sync_failures = 0, unreachable_since = NULL, last_synced_at = NULL, updated_at = now()`,
      [
        cluster.id,
        cluster.name,
        cluster.provider,
        cluster.apiServer,
        cluster.cloud === null ? null : JSON.stringify(cluster.cloud),
        cluster.credentialRef,
        cluster.state,
        cluster.attempt,
        cluster.requestEventId,
        cluster.kubernetesVersion,
        cluster.distribution,
        cluster.nodeCount,
        JSON.stringify(cluster.reasons),
        JSON.stringify(cluster.warnings),
        cluster.policyRevision,
        cluster.requestedAt,
        cluster.checkStartedAt,
        cluster.importedAt,
        cluster.deletedAt,
        cluster.lastEventTime,
        nextSyncAt,
      ],
    );
  }

  /** Keyset pagination by id, deleted clusters left out. */
  async list(state: ConnectedClusterState | undefined, limit: number, after: string | undefined): Promise<ConnectedClusterPage> {
    const query = this.clusters.createQueryBuilder('c').where('c.deleted_at IS NULL');
    if (state) query.andWhere('c.state = :state', { state });
    const total = await query.clone().getCount();
    if (after) query.andWhere('c.id > :after', { after });
    const entities = await query.orderBy('c.id', 'ASC').limit(limit + 1).getMany();
    const items = entities.slice(0, limit).map(toView);
    return { items, total, nextCursor: entities.length > limit ? (items.at(-1)?.id ?? null) : null };
  }
}

const iso = (date: Date | null) => date?.toISOString() ?? null;
const date = (value: string | null) => (value === null ? null : new Date(value));

function toView(entity: ConnectedClusterEntity): ConnectedCluster {
  return {
    id: entity.id,
    name: entity.name,
    provider: entity.provider,
    apiServer: entity.apiServer,
    cloud: entity.cloud,
    credentialRef: entity.credentialRef,
    state: entity.state,
    attempt: entity.attempt,
    requestEventId: entity.requestEventId,
    kubernetesVersion: entity.kubernetesVersion,
    distribution: entity.distribution as ConnectedCluster['distribution'],
    nodeCount: entity.nodeCount,
    reasons: entity.reasons,
    warnings: entity.warnings,
    policyRevision: entity.policyRevision,
    requestedAt: entity.requestedAt.toISOString(),
    checkStartedAt: iso(entity.checkStartedAt),
    importedAt: iso(entity.importedAt),
    deletedAt: iso(entity.deletedAt),
    lastEventTime: entity.lastEventTime.toISOString(),
  };
}

function toEntity(view: ConnectedCluster): Partial<ConnectedClusterEntity> {
  return {
    ...view,
    requestedAt: new Date(view.requestedAt),
    checkStartedAt: date(view.checkStartedAt),
    importedAt: date(view.importedAt),
    deletedAt: date(view.deletedAt),
    lastEventTime: new Date(view.lastEventTime),
  };
}
