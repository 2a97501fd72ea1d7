import type { ServiceName } from '@flotilla/contracts';
import type { Role } from './roles.js';

/**
 * The services that call other services' HTTP APIs as themselves, and the highest role each may
 * act with. A service not listed has no identity: it signs no token, and no token claiming to be
 * it is accepted from a service key.
 */
export const SERVICE_ROLES: Readonly<Partial<Record<ServiceName, Role>>> = {
  // Probes clusters behind a firewall through the tunnel broker's proxy (GET only).
  importer: 'viewer',
};

/** A table of services' roles, as SERVICE_ROLES (tests name their own). */
export type ServiceRoles = Readonly<Partial<Record<string, Role>>>;

const SERVICE_SUBJECT_PREFIX = 'service:';

/** The subject of a service's own tokens and audit records: `service:<name>`. */
export function serviceSubject(service: string): string {
  return `${SERVICE_SUBJECT_PREFIX}${service}`;
}

/** The service a `service:<name>` subject names, or undefined for any other subject. */
export function serviceOfSubject(subject: string): string | undefined {
  if (!subject.startsWith(SERVICE_SUBJECT_PREFIX)) return undefined;
  const service = subject.slice(SERVICE_SUBJECT_PREFIX.length);
  return service === '' ? undefined : service;
}
