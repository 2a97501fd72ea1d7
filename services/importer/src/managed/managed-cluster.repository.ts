import { Inject, Injectable } from '@nestjs/common';
import { outboxInsertSql, outboxRowsParameter, UnitOfWork } from '@flotilla/messaging';
import type { Reason } from '@flotilla/contracts';
import type { CloudProviderName } from '../clouds/cloud-provider.js';
import type { CloudClusterSpec, CloudNodeGroupSpec, CloudPlace, ObservedCloudNodeGroup } from '../clouds/lifecycle.js';
import type { ManagedCluster, ManagedPhase, ManagedWork } from './managed-cluster.js';

/** A managed cluster taken by one reconciler for one step; its result is recorded only under this claim. */
export interface ManagedClaim {
  cluster: ManagedCluster;
  claimId: string;
}

interface ClusterRow {
  id: string;
  name: string;
  provider: CloudProviderName;
  credential_ref: string;
  place: CloudPlace;
  cloud_name: string;
  spec: CloudClusterSpec;
  phase: ManagedPhase;
  work: ManagedWork | null;
  step: string | null;
  operation: string | null;
  generation: number;
  version_offered: boolean;
  reasons: Reason[];
  failures: number;
  next_attempt_at: Date;
  request_event_id: string;
  observed_version: string | null;
  endpoint: string | null;
  release: string | null;
  policy_revision: string | null;
  adopted: boolean;
  created_at: Date;
  claim_id: string | null;
}

interface NodeGroupRow {
  cluster_id: string;
  name: string;
  instance_type: string;
  min_size: number;
  max_size: number;
  desired_size: number;
  labels: Record<string, string>;
  taints: CloudNodeGroupSpec['taints'];
}

/** Managed cloud clusters, their node groups and the accounts' throttle gates in PostgreSQL. Joins the caller's transaction. */
@Injectable()
export class ManagedClusterRepository {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  private async query<T>(sql: string, parameters: unknown[] = []): Promise<T[]> {
    const rows: T[] = await this.unitOfWork.manager.query(sql, parameters);
    return rows;
  }

  /**
   * Reads a cluster and holds it until the transaction ends. The advisory lock is the connected
   * clusters' one: a managed cluster and its connected record change one after the other.
   */
  async findForUpdate(id: string): Promise<ManagedCluster | undefined> {
    await this.query(`SELECT pg_advisory_xact_lock(hashtext('importer.cluster'), hashtext($1))`, [id]);
    const [row] = await this.query<ClusterRow>(`SELECT * FROM managed_clusters WHERE id = $1 FOR UPDATE`, [id]);
    return row ? this.withGroups(row) : undefined;
  }

  async find(id: string): Promise<ManagedCluster | undefined> {
    const [row] = await this.query<ClusterRow>(`SELECT * FROM managed_clusters WHERE id = $1`, [id]);
    return row ? this.withGroups(row) : undefined;
  }

  /**
   * Writes the cluster and its wanted node groups (those no longer wanted go), in one statement (a
   * fleet is requested at once). The claim is released.
   */
  async save(cluster: ManagedCluster): Promise<void> {
    const groups = cluster.nodeGroups;
    // The sub-statements touch different rows (the groups kept and those dropped are apart), and the
    // groups' reference to their cluster is checked at the end of the statement, the cluster written.
    await this.query(
      `WITH saved AS (
         INSERT INTO managed_clusters (id, name, provider, credential_ref, place, cloud_name, spec, phase, work, step, operation, generation, version_offered,
           reasons, failures, next_attempt_at, request_event_id, observed_version, endpoint, release, policy_revision, adopted, created_at, claimed_until, claim_id, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, NULL, NULL, now())
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, provider = EXCLUDED.provider, credential_ref = EXCLUDED.credential_ref, place = EXCLUDED.place,
           cloud_name = EXCLUDED.cloud_name, spec = EXCLUDED.spec, phase = EXCLUDED.phase, work = EXCLUDED.work, step = EXCLUDED.step, operation = EXCLUDED.operation,
           generation = EXCLUDED.generation, version_offered = EXCLUDED.version_offered, reasons = EXCLUDED.reasons, failures = EXCLUDED.failures,
           next_attempt_at = EXCLUDED.next_attempt_at, request_event_id = EXCLUDED.request_event_id, observed_version = EXCLUDED.observed_version,
           endpoint = EXCLUDED.endpoint, release = EXCLUDED.release, policy_revision = EXCLUDED.policy_revision, adopted = EXCLUDED.adopted,
           claimed_until = NULL, claim_id = NULL, updated_at = now()),
       dropped AS (
         DELETE FROM managed_node_groups WHERE cluster_id = $1 AND NOT (name = ANY($24::text[])))
       INSERT INTO managed_node_groups (cluster_id, name, instance_type, min_size, max_size, desired_size, labels, taints)
       SELECT $1, g.name, g.instance_type, g.min_size, g.max_size, g.desired_size, g.labels, g.taints
         FROM unnest($24::text[], $25::text[], $26::int[], $27::int[], $28::int[], $29::jsonb[], $30::jsonb[]) AS g(name, instance_type, min_size, max_size, desired_size, labels, taints)
       ON CONFLICT (cluster_id, name) DO UPDATE SET instance_type = EXCLUDED.instance_type, min_size = EXCLUDED.min_size, max_size = EXCLUDED.max_size,
         desired_size = EXCLUDED.desired_size, labels = EXCLUDED.labels, taints = EXCLUDED.taints`,
      [
        cluster.id,
        cluster.name,
        cluster.provider,
        cluster.credentialRef,
        JSON.stringify(cluster.place),
        cluster.cloudName,
        JSON.stringify(cluster.spec),
        ...stateValues(cluster),
        cluster.requestEventId,
        cluster.observedVersion,
        cluster.endpoint,
        cluster.release,
        cluster.policyRevision,
        cluster.adopted,
        cluster.createdAt,
        groups.map((group) => group.name),
        groups.map((group) => group.instanceType),
        groups.map((group) => group.minSize),
        groups.map((group) => group.maxSize),
        groups.map((group) => group.desiredSize),
        groups.map((group) => JSON.stringify(group.labels)),
        groups.map((group) => JSON.stringify(group.taints)),
      ],
    );
  }

  /**
   * Takes clusters with work due, and those whose claim ran out (their replica died). The claim is
   * a lease: until it ends no other replica takes the cluster. SKIP LOCKED: replicas take disjoint
   * sets and never wait on each other.
   */
  async claimDue(limit: number, now: Date, leaseMs: number): Promise<ManagedClaim[]> {
    // One statement takes them all (its row locks end with it; the lease holds them from then on).
    const rows = await this.query<ClusterRow>(
      `WITH claimed AS (
         UPDATE managed_clusters m SET claimed_until = $3, claim_id = gen_random_uuid()
           FROM (SELECT id FROM managed_clusters
                  WHERE work IS NOT NULL AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
                  ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) due
          WHERE m.id = due.id
          RETURNING m.*)
       SELECT * FROM claimed ORDER BY next_attempt_at`,
      [now, limit, new Date(now.getTime() + leaseMs)],
    );
    const clusters = await this.withGroupsOf(rows);
    return clusters.map((cluster, index) => ({ cluster, claimId: rows[index]!.claim_id! }));
  }

  /**
   * The advisory lock of findForUpdate alone, until the transaction ends: what a writer of the
   * cluster's connected record takes before the cluster's row, as every writer of both does.
   */
  async lockCluster(id: string): Promise<void> {
    await this.query(`SELECT pg_advisory_xact_lock(hashtext('importer.cluster'), hashtext($1))`, [id]);
  }

  /**
   * Writes what a step changed, in one statement: the cluster's state (not its wanted node groups:
   * a step never changes what is wanted; `save` does) and what the step saw of each node group (for
   * people: the reconciler observes anew each step), with the outbox rows of its events
   * (`UnitOfWork.writeWithEvents`). Only while the claim is still `claimId` at `generation`: the
   * row lock orders it with a request's change, which takes the row first too. The claim is
   * released. False when the cluster changed meanwhile (nothing written).
   */
  async saveStateUnderClaim(
    cluster: ManagedCluster,
    claimId: string,
    generation: number,
    observedGroups: readonly ObservedCloudNodeGroup[] = [],
    outboxRows: string = outboxRowsParameter([]),
  ): Promise<boolean> {
    const rows = await this.query<{ id: string }>(
      `WITH saved AS (
         UPDATE managed_clusters SET phase = $2, work = $3, step = $4, operation = $5, generation = $6, version_offered = $7, reasons = $8, failures = $9,
           next_attempt_at = $10, observed_version = $11, endpoint = $12, claimed_until = NULL, claim_id = NULL, updated_at = now()
         WHERE id = $1 AND claim_id = $13 AND generation = $14
         RETURNING id),
       observed AS (
         UPDATE managed_node_groups g SET observed_state = o.state, observed_version = o.version
           FROM unnest($15::text[], $16::text[], $17::text[]) AS o(name, state, version), saved
          WHERE g.cluster_id = saved.id AND g.name = o.name),
       events AS (${outboxInsertSql('$18', 'EXISTS (SELECT 1 FROM saved)')})
       SELECT id FROM saved`,
      [
        cluster.id,
        ...stateValues(cluster),
        cluster.observedVersion,
        cluster.endpoint,
        claimId,
        generation,
        observedGroups.map((group) => group.name),
        observedGroups.map((group) => group.state),
        observedGroups.map((group) => group.version),
        outboxRows,
      ],
    );
    return rows.length > 0;
  }

  /** Gives a claim back untouched (shutdown, a closed gate): due again at `at`. */
  async release(id: string, claimId: string, at: Date): Promise<void> {
    await this.query(`UPDATE managed_clusters SET claimed_until = NULL, claim_id = NULL, next_attempt_at = $3 WHERE id = $1 AND claim_id = $2`, [id, claimId, at]);
  }

  /** When calls with this account may go out again; null when they may now. */
  async gate(provider: CloudProviderName, credentialRef: string): Promise<Date | null> {
    const [row] = await this.query<{ not_before: Date }>(`SELECT not_before FROM cloud_throttle_gates WHERE provider = $1 AND credential_ref = $2`, [provider, credentialRef]);
    return row?.not_before ?? null;
  }

  /** The gates closed at `now`, by `provider\ncredentialRef`. */
  async closedGates(now: Date): Promise<Map<string, Date>> {
    const rows = await this.query<{ provider: string; credential_ref: string; not_before: Date }>(`SELECT provider, credential_ref, not_before FROM cloud_throttle_gates WHERE not_before > $1`, [now]);
    return new Map(rows.map((row) => [`${row.provider}\n${row.credential_ref}`, row.not_before]));
  }

  /** Closes an account's gate until `notBefore`; a later time another replica set stays. */
  async closeGate(provider: CloudProviderName, credentialRef: string, notBefore: Date): Promise<void> {
    await this.query(
      `INSERT INTO cloud_throttle_gates (provider, credential_ref, not_before) VALUES ($1, $2, $3)
       ON CONFLICT (provider, credential_ref) DO UPDATE SET not_before = GREATEST(cloud_throttle_gates.not_before, EXCLUDED.not_before)`,
      [provider, credentialRef, notBefore],
    );
  }

  private async withGroups(row: ClusterRow): Promise<ManagedCluster> {
    const [cluster] = await this.withGroupsOf([row]);
    return cluster!;
  }

  /** The clusters of these rows with their wanted node groups, read in one query. */
  private async withGroupsOf(rows: ClusterRow[]): Promise<ManagedCluster[]> {
    if (rows.length === 0) return [];
    const groups = await this.query<NodeGroupRow>(`SELECT * FROM managed_node_groups WHERE cluster_id = ANY($1::text[]) ORDER BY cluster_id, name`, [rows.map((row) => row.id)]);
    const byCluster = new Map<string, NodeGroupRow[]>();
    for (const group of groups) {
      const list = byCluster.get(group.cluster_id);
      if (list === undefined) byCluster.set(group.cluster_id, [group]);
      else list.push(group);
    }
    return rows.map((row) => clusterOf(row, byCluster.get(row.id) ?? []));
  }
}

/** phase, work, step, operation, generation, version_offered, reasons, failures, next_attempt_at: what a step changes. */
function stateValues(cluster: ManagedCluster): unknown[] {
  return [
    cluster.phase,
    cluster.work === null ? null : JSON.stringify(cluster.work),
    cluster.step,
    cluster.operation,
    cluster.generation,
    cluster.versionOffered,
    JSON.stringify(cluster.reasons),
    cluster.failures,
    cluster.nextAttemptAt,
  ];
}

function clusterOf(row: ClusterRow, groups: NodeGroupRow[]): ManagedCluster {
  return {
    id: row.id,
    name: row.name,
    provider: row.provider,
    credentialRef: row.credential_ref,
    place: row.place,
    cloudName: row.cloud_name,
    spec: row.spec,
    nodeGroups: groups.map((group) => ({
      name: group.name,
      instanceType: group.instance_type,
      minSize: group.min_size,
      maxSize: group.max_size,
      desiredSize: group.desired_size,
      labels: group.labels,
      taints: group.taints,
    })),
    phase: row.phase,
    work: row.work,
    step: row.step,
    operation: row.operation,
    generation: row.generation,
    versionOffered: row.version_offered,
    reasons: row.reasons,
    failures: row.failures,
    nextAttemptAt: row.next_attempt_at.toISOString(),
    requestEventId: row.request_event_id,
    observedVersion: row.observed_version,
    endpoint: row.endpoint,
    release: row.release,
    policyRevision: row.policy_revision,
    adopted: row.adopted,
    createdAt: row.created_at.toISOString(),
  };
}
