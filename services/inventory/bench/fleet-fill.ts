import type { DataSource } from 'typeorm';

/**
 * Fills the inventory's read model with a synthetic fleet in bulk SQL (generate_series), not
 * through events: clusters `[from, to)` as the projection would have written them, each with its
 * nodes and a few lines of history. Deterministic (a function of the index), so runs compare.
 *
 * Cluster i: half platform-provisioned (aws, openstack, vsphere), a tenth user-provisioned (no
 * provider), a tenth hosted, three tenths connected (eks, aks, gke, cncf; a fifth of them through
 * a tunnel, 2% of those disconnected, 1% unreachable); 90% Running, 3% Provisioning (half their
 * nodes Ready), 2% Failed (refused: nothing since), 1% Pending or Importing, 1% Rejected or
 * Running, 3% Deleted (no nodes); Kubernetes 1.28 to 1.34; labels team=t0..t39 and
 * env=prod|staging|dev; 10 nodes, one in three clusters 11.
 */
export async function fillFleet(db: DataSource, from: number, to: number, historyPerCluster: number): Promise<void> {
  await db.query(
    `WITH shaped AS (
       SELECT i,
              'c' || lpad(i::text, 6, '0') AS id,
              (ARRAY['platform-provisioned','platform-provisioned','platform-provisioned','platform-provisioned','platform-provisioned',
                     'user-provisioned','hosted-control-plane','connected','connected','connected'])[i % 10 + 1] AS model,
              (i * 7) % 100 AS fate,
              '1.' || (28 + (i * 13) % 7) || '.' || (i % 12) AS version,
              timestamptz '2026-01-01T00:00:00Z' + i * interval '1 minute' AS created
         FROM generate_series($1::int, $2::int - 1) AS i),
     stated AS (
       SELECT s.*,
              CASE WHEN fate < 90 THEN 'Running'
                   WHEN fate < 93 THEN CASE WHEN model = 'connected' THEN 'Importing' ELSE 'Provisioning' END
                   WHEN fate < 95 THEN CASE WHEN model = 'connected' THEN 'Rejected' ELSE 'Failed' END
                   WHEN fate < 96 THEN CASE WHEN model = 'connected' THEN 'Importing' ELSE 'Pending' END
                   WHEN fate < 97 THEN 'Running'
                   ELSE 'Deleted' END AS status,
              CASE WHEN model = 'connected' AND (i / 10) % 5 = 0 THEN 'tunnel' ELSE 'direct' END AS access,
              CASE WHEN model IN ('platform-provisioned', 'hosted-control-plane') THEN (ARRAY['aws','openstack','vsphere'])[i % 3 + 1]
                   WHEN model = 'connected' THEN (ARRAY['eks','aks','gke','cncf'])[(i / 10) % 4 + 1] END AS provider
         FROM shaped s),
     noded AS (
       SELECT t.*,
              CASE WHEN status = 'Deleted' THEN 0 ELSE 10 + (CASE WHEN i % 3 = 0 THEN 1 ELSE 0 END) END AS node_count,
              CASE WHEN access = 'tunnel' THEN CASE WHEN i % 49 = 0 THEN 'disconnected' ELSE 'connected' END END AS tunnel,
              CASE WHEN model = 'connected' AND status = 'Running' THEN i % 97 <> 0 END AS reachable
         FROM stated t),
     rows AS (
       SELECT n.*,
              CASE WHEN status = 'Running' THEN node_count WHEN status = 'Provisioning' THEN node_count / 2 ELSE 0 END AS nodes_ready,
              CASE WHEN status IN ('Failed', 'Rejected') THEN jsonb_build_object('eventId', md5(id || '-refusal'), 'type', 'ClusterProvisioningFailed', 'source', '/flotilla/provisioner',
                     'time', to_char(created + interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'requestEventId', md5(id || '-request'), 'requestType', 'ClusterRequested',
                     'reasons', jsonb_build_array(jsonb_build_object('code', 'quota-exceeded', 'message', 'no machines left in the project'))) END AS last_refusal
         FROM noded n)
     INSERT INTO clusters (id, name, model, labels, status, kubernetes_version, distribution, nodes, node_count, reasons, warnings, reachable, tunnel, access,
                           provider, nodes_ready, attention, last_event_time, pending_requests, last_refusal, progress, fact_times, created_at, updated_at)
     SELECT id, 'cluster ' || i, model,
            jsonb_build_object('team', 't' || (i % 40), 'env', (ARRAY['prod','staging','dev'])[(i / 40) % 3 + 1]),
            status,
            CASE WHEN status IN ('Pending', 'Importing') THEN NULL WHEN model = 'connected' THEN 'v' || version ELSE version END,
            CASE WHEN model = 'connected' THEN provider END,
            coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'name', id || CASE WHEN k < 3 THEN '-cp-' || k ELSE '-w-' || (k - 3) END,
                        'role', CASE WHEN k < 3 THEN 'control-plane' ELSE 'worker' END,
                        'pool', CASE WHEN k >= 3 THEN 'workers' END,
                        'providerId', 'sim:///' || id || '/' || k,
                        'addresses', jsonb_build_array('10.' || (i / 65536) % 256 || '.' || (i / 256) % 256 || '.' || (i % 256)),
                        'kubeletVersion', 'v' || version,
                        'machineSize', 'large') ORDER BY k)
                        FROM generate_series(0, node_count - 1) AS k), '[]'::jsonb),
            node_count,
            CASE WHEN status IN ('Failed', 'Rejected') THEN last_refusal->'reasons' ELSE '[]'::jsonb END,
            '[]'::jsonb, reachable, tunnel, access, provider, nodes_ready,
            array_remove(ARRAY[
              CASE WHEN status = 'Failed' THEN 'failed' END,
              CASE WHEN reachable IS FALSE THEN 'unreachable' END,
              CASE WHEN last_refusal IS NOT NULL AND status <> 'Deleted' THEN 'refused' END,
              CASE WHEN tunnel = 'disconnected' AND status <> 'Deleted' THEN 'tunnel-disconnected' END], NULL),
            created + interval '1 hour',
            '[]'::jsonb, last_refusal,
            CASE WHEN status = 'Provisioning' THEN jsonb_build_object('phase', 'Provisioning', 'controlPlane', jsonb_build_object('ready', 3, 'total', 3),
                   'nodePools', jsonb_build_array(jsonb_build_object('pool', 'workers', 'ready', nodes_ready - 3, 'total', node_count - 3)), 'operation', NULL,
                   'time', to_char(created + interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) END,
            '{}'::jsonb,
            created,
            -- Updated in an order unlike creation's.
            timestamptz '2026-06-01T00:00:00Z' + ((i * 7919) % 1000003) * interval '1 second'
       FROM rows`,
    [from, to],
  );
  if (historyPerCluster === 0) return;
  await db.query(
    `INSERT INTO cluster_events (event_id, cluster_id, type, source, time, trace_id, summary)
     SELECT md5(i || '-' || k), 'c' || lpad(i::text, 6, '0'),
            (ARRAY['io.flotilla.cluster.requested.v1','io.flotilla.cluster.nodes-provisioned.v1','io.flotilla.cluster.progress.v1','io.flotilla.cluster.ready.v1'])[k % 4 + 1],
            '/flotilla/provisioner',
            timestamptz '2026-01-01T00:00:00Z' + i * interval '1 minute' + k * interval '1 second',
            md5(i::text),
            'ClusterProgress: Provisioning, control plane 3/3, workers ' || k || '/7'
       FROM generate_series($1::int, $2::int - 1) AS i, generate_series(0, $3::int - 1) AS k`,
    [from, to, historyPerCluster],
  );
}
