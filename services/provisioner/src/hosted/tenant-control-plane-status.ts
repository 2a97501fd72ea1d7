import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ObjectHeader } from './kubernetes-client.js';
import { canonicalJson } from '../domain/cluster/index.js';

/** Kamaji's API group and version, and where its TenantControlPlanes are listed. */
export const KAMAJI_API_VERSION = 'kamaji.clastix.io/v1alpha1';
export const TENANT_CONTROL_PLANE_KIND = 'TenantControlPlane';

/** Kamaji's key of the admin kubeconfig in its Secret (kubeadm's file name). */
export const ADMIN_KUBECONFIG_KEY = 'admin.conf';

/** A TenantControlPlane as far as Flotilla reads it. */
export interface TenantControlPlaneObject extends KubernetesObject {
  status?: {
    controlPlaneEndpoint?: string;
    kubernetesResources?: { version?: { status?: string; version?: string } };
    kubeconfig?: { admin?: { secretName?: string } };
  };
}

export type Readiness = { ready: true; endpoint: string } | { ready: false; status: string | null };

/**
 * Ready as Kamaji says it: `status.kubernetesResources.version.status` is `Ready` and
 * `status.controlPlaneEndpoint` (the `host:port` its API server answers at) is set.
 */
export function readinessOf(object: TenantControlPlaneObject): Readiness {
  const status = object.status?.kubernetesResources?.version?.status ?? null;
  const endpoint = object.status?.controlPlaneEndpoint;
  if (status === 'Ready' && typeof endpoint === 'string' && /^\S+:\d{1,5}$/.test(endpoint)) return { ready: true, endpoint };
  return { ready: false, status };
}

/** The manifest's identity: what was applied is recorded by it, so a changed manifest is applied again. */
export function manifestSha256(manifest: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(manifest)).digest('hex');
}

export function tenantControlPlaneHeader(namespace: string, name: string): ObjectHeader {
  return { apiVersion: KAMAJI_API_VERSION, kind: TENANT_CONTROL_PLANE_KIND, metadata: { name, namespace } };
}

export function namespaceHeader(name: string): ObjectHeader {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

/** The namespace Flotilla applies for a control plane, labelled as its own. */
export function namespaceObject(name: string, clusterId: string): KubernetesObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'flotilla', 'flotilla.io/cluster-id': clusterId } } };
}

/** Where the watch of one TenantControlPlane goes (its namespace's collection, narrowed by name). */
export function tenantControlPlanesPath(namespace: string): string {
  return `/apis/${KAMAJI_API_VERSION}/namespaces/${encodeURIComponent(namespace)}/tenantcontrolplanes`;
}

/** The admin kubeconfig's Secret: the one the status names, else Kamaji's `<name>-admin-kubeconfig`. */
export function adminKubeconfigSecretName(object: TenantControlPlaneObject, name: string): string {
  return object.status?.kubeconfig?.admin?.secretName ?? `${name}-admin-kubeconfig`;
}
