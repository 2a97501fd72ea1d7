import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Public cloud clusters the importer creates and runs (model public-cloud) or adopted: the
 * desired state, where the reconciler stands (step, the cloud's operation handle in flight,
 * generation of request tokens, backoff, claim lease), and their node groups; plus one throttle
 * gate per cloud account for the whole service.
 */
export class ManagedClusters1732300030000 implements MigrationInterface {
  name = 'ManagedClusters1732300030000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE managed_clusters (
        id text PRIMARY KEY,
        name text NOT NULL,
        provider text NOT NULL CHECK (provider IN ('eks', 'aks', 'gke')),
        credential_ref text NOT NULL,
        place jsonb NOT NULL,
        cloud_name text NOT NULL,
        spec jsonb NOT NULL,
        phase text NOT NULL,
        work jsonb,
        step text,
        operation text,
        generation integer NOT NULL,
        version_offered boolean NOT NULL DEFAULT false,
        reasons jsonb NOT NULL DEFAULT '[]',
        failures integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        claimed_until timestamptz,
        claim_id uuid,
        request_event_id text NOT NULL,
        observed_version text,
        endpoint text,
        release text,
        policy_revision text,
        adopted boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // The reconciler looks only at clusters with work to do.
    await runner.query(`CREATE INDEX managed_clusters_due ON managed_clusters (next_attempt_at) WHERE work IS NOT NULL`);
    await runner.query(`
      CREATE TABLE managed_node_groups (
        cluster_id text NOT NULL REFERENCES managed_clusters (id) ON DELETE CASCADE,
        name text NOT NULL,
        instance_type text NOT NULL,
        min_size integer NOT NULL,
        max_size integer NOT NULL,
        desired_size integer NOT NULL,
        labels jsonb NOT NULL DEFAULT '{}',
        taints jsonb NOT NULL DEFAULT '[]',
        observed_state text,
        observed_version text,
        PRIMARY KEY (cluster_id, name)
      )`);
    await runner.query(`
      CREATE TABLE cloud_throttle_gates (
        provider text NOT NULL,
        credential_ref text NOT NULL,
        not_before timestamptz NOT NULL,
        PRIMARY KEY (provider, credential_ref)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE cloud_throttle_gates`);
    await runner.query(`DROP TABLE managed_node_groups`);
    await runner.query(`DROP TABLE managed_clusters`);
  }
}
