import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The running clusters of the simulated cloud, as far as joining them goes: a cluster exists
 * once its first control plane ran `kubeadm init`; it holds bootstrap tokens with their expiry
 * and the control-plane certificates kubeadm uploaded (`kubeadm-certs`, two hours). Each machine
 * keeps what its first-boot kubeadm configuration presents (`kubeadm`: the token id, SHA-256 of
 * the token and certificate key, never the values) and when its node joined.
 */
export class SimJoinMaterial1732300017100 implements MigrationInterface {
  name = 'SimJoinMaterial1732300017100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE sim_machines ADD COLUMN kubeadm jsonb, ADD COLUMN joined_at timestamptz`);
    await runner.query(`
      CREATE TABLE sim_clusters (
        cluster_id             text PRIMARY KEY,
        initialised_at         timestamptz NOT NULL,
        certificate_key_sha256 text,
        certificates_expire_at timestamptz
      )`);
    await runner.query(`
      CREATE TABLE sim_bootstrap_tokens (
        cluster_id    text        NOT NULL REFERENCES sim_clusters (cluster_id) ON DELETE CASCADE,
        token_id      text        NOT NULL,
        secret_sha256 text        NOT NULL,
        expires_at    timestamptz NOT NULL,
        PRIMARY KEY (cluster_id, token_id)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE sim_bootstrap_tokens`);
    await runner.query(`DROP TABLE sim_clusters`);
    await runner.query(`ALTER TABLE sim_machines DROP COLUMN kubeadm, DROP COLUMN joined_at`);
  }
}
