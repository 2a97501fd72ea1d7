import type { ClusterModel, Node, Reason } from '@flotilla/contracts';
import { attentionOf, readyNodes } from '../domain/cluster-attention.js';
import type { ClusterAccess, ClusterProgressView, ClusterStatus, ClusterView, FactTimes, PendingRequest, Refusal } from '../domain/cluster-view.js';
import type { ClusterEntity } from '../entities/cluster.entity.js';

/** The columns of a view, as the projection's statements read and write them. */
export const COLUMNS =
  'id, name, model, labels, status, kubernetes_version, distribution, nodes, reasons, warnings, reachable, tunnel, access, provider, region, last_event_time, pending_requests, last_refusal, progress, fact_times';
/**
 * A cluster as answers show it: the view without its bookkeeping of fact times (a time per node,
 * per answer), and when the inventory first heard of it.
 */
export type ClusterItem = Omit<ClusterView, 'factTimes'> & { createdAt: string };

/** A timestamptz column as toISOString writes it: UTC, milliseconds. */
export function isoTime(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/**
 * A cluster as answers show it (ClusterItem, the keys in rowToView's order), as JSON built by
 * PostgreSQL: a page goes out as the text PostgreSQL made, never parsed into objects and
 * serialised again in the service.
 */
export const ITEM_JSON = `json_build_object(
  'id', id, 'name', name, 'model', model, 'labels', labels, 'status', status, 'kubernetesVersion', kubernetes_version,
  'distribution', distribution, 'nodes', nodes, 'reasons', reasons, 'warnings', warnings, 'reachable', reachable,
  'tunnel', tunnel, 'access', access, 'provider', provider, 'region', region,
  'lastEventTime', ${isoTime('last_event_time')},
  'pendingRequests', pending_requests, 'lastRefusal', last_refusal, 'progress', progress, 'createdAt', ${isoTime('created_at')})`;

/** The records the projection writes: the view and, from it, what the overview counts (cluster-attention). */
export const RECORD =
  'id text, name text, model text, labels jsonb, status text, kubernetes_version text, distribution text, nodes jsonb, reasons jsonb, warnings jsonb, reachable boolean, tunnel text, access text, provider text, region text, nodes_ready integer, attention text[], last_event_time timestamptz, pending_requests jsonb, last_refusal jsonb, progress jsonb, fact_times jsonb';

export interface ClusterRow {
  id: string;
  name: string | null;
  model: ClusterModel | null;
  labels: Record<string, string>;
  status: ClusterStatus;
  kubernetes_version: string | null;
  distribution: string | null;
  nodes: Node[];
  reasons: Reason[];
  warnings: Reason[];
  reachable: boolean | null;
  tunnel: 'connected' | 'disconnected' | null;
  access: ClusterAccess | null;
  provider: string | null;
  region: string | null;
  last_event_time: Date;
  pending_requests: PendingRequest[];
  last_refusal: Refusal | null;
  progress: ClusterProgressView | null;
  fact_times: FactTimes;
}

export function rowToView(row: ClusterRow): ClusterView {
  return {
    id: row.id,
    name: row.name,
    model: row.model,
    labels: row.labels,
    status: row.status,
    kubernetesVersion: row.kubernetes_version,
    distribution: row.distribution,
    nodes: row.nodes,
    reasons: row.reasons,
    warnings: row.warnings,
    reachable: row.reachable,
    tunnel: row.tunnel,
    access: row.access,
    provider: row.provider,
    region: row.region,
    lastEventTime: row.last_event_time.toISOString(),
    pendingRequests: row.pending_requests,
    lastRefusal: row.last_refusal,
    progress: row.progress,
    factTimes: row.fact_times,
  };
}

/** Views as one JSON parameter for jsonb_to_recordset, sorted by id. */
export function toRecords(views: readonly ClusterView[]): string {
  return JSON.stringify(
    [...views]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((view) => ({
        id: view.id,
        name: view.name,
        model: view.model,
        labels: view.labels,
        status: view.status,
        kubernetes_version: view.kubernetesVersion,
        distribution: view.distribution,
        nodes: view.nodes,
        reasons: view.reasons,
        warnings: view.warnings,
        reachable: view.reachable,
        tunnel: view.tunnel,
        access: view.access,
        provider: view.provider,
        region: view.region,
        nodes_ready: readyNodes(view),
        attention: attentionOf(view),
        last_event_time: view.lastEventTime,
        pending_requests: view.pendingRequests,
        last_refusal: view.lastRefusal,
        progress: view.progress,
        fact_times: view.factTimes,
      })),
  );
}

export function toView(entity: ClusterEntity): ClusterView {
  return {
    id: entity.id,
    name: entity.name,
    model: entity.model,
    labels: entity.labels,
    status: entity.status,
    kubernetesVersion: entity.kubernetesVersion,
    distribution: entity.distribution,
    nodes: entity.nodes,
    reasons: entity.reasons,
    warnings: entity.warnings,
    reachable: entity.reachable,
    tunnel: entity.tunnel,
    access: entity.access,
    provider: entity.provider,
    region: entity.region,
    lastEventTime: entity.lastEventTime.toISOString(),
    pendingRequests: entity.pendingRequests,
    lastRefusal: entity.lastRefusal,
    progress: entity.progress,
    factTimes: entity.factTimes,
  };
}

export function toEntity(view: ClusterView): Partial<ClusterEntity> {
  return {
    id: view.id,
    name: view.name,
    model: view.model,
    labels: view.labels,
    status: view.status,
    kubernetesVersion: view.kubernetesVersion,
    distribution: view.distribution,
    nodes: view.nodes,
    nodeCount: view.nodes.length,
    reasons: view.reasons,
    warnings: view.warnings,
    reachable: view.reachable,
    tunnel: view.tunnel,
    access: view.access,
    provider: view.provider,
    region: view.region,
    nodesReady: readyNodes(view),
    attention: attentionOf(view),
    lastEventTime: new Date(view.lastEventTime),
    pendingRequests: view.pendingRequests,
    lastRefusal: view.lastRefusal,
    progress: view.progress,
    factTimes: view.factTimes,
  };
}
