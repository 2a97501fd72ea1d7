import { ClusterLabels } from '@flotilla/contracts';
import { z } from 'zod';
import { caBundleFile, readCaBundle } from '../connectivity/tunnel-config.js';

/** A registration token may live at most a week: long enough to get a change approved, short enough to matter if it leaks. */
export const MAX_TTL_HOURS = 168;

export interface RegistrationSettings {
  /** The tunnel broker's public URL the agent dials; a request may name another. Undefined: every request must name one. */
  tunnelUrl: string | undefined;
  /** PEM of a private CA the agent must trust for that URL (carried by the manifest); null: the system roots. */
  tunnelCaPem: string | null;
  agentImage: string;
  defaultTtlHours: number;
}

export const REGISTRATION_SETTINGS = Symbol('RegistrationSettings');

const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https:// URL (the agent sends its token there)' });

/** Variables of register mode, to spread into the importer's configuration schema. */
export const RegistrationConfig = {
  /** The tunnel broker's public URL, as the workload clusters reach it. */
  REGISTRATION_TUNNEL_URL: httpsUrl.optional(),
  /** PEM file of a private CA that signed that URL's certificate: the manifest gives it to the agent. */
  REGISTRATION_TUNNEL_CA_FILE: caBundleFile.optional(),
  /** The tunnel agent's image in the rendered manifest. */
  REGISTRATION_AGENT_IMAGE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/, 'must be an image reference such as registry.example/flotilla/tunnel-agent:1.0.0')
    .default('flotilla/tunnel-agent:0.1.0'),
  /** How long a registration token stays valid unless the request says otherwise. */
  REGISTRATION_TOKEN_TTL_HOURS: z.coerce.number().int().min(1).max(MAX_TTL_HOURS).default(24),
};

export function registrationSettings(config: {
  REGISTRATION_TUNNEL_URL?: string | undefined;
  REGISTRATION_TUNNEL_CA_FILE?: string | undefined;
  REGISTRATION_AGENT_IMAGE: string;
  REGISTRATION_TOKEN_TTL_HOURS: number;
}): RegistrationSettings {
  return {
    tunnelUrl: config.REGISTRATION_TUNNEL_URL,
    tunnelCaPem: config.REGISTRATION_TUNNEL_CA_FILE === undefined ? null : readCaBundle(config.REGISTRATION_TUNNEL_CA_FILE),
    agentImage: config.REGISTRATION_AGENT_IMAGE,
    defaultTtlHours: config.REGISTRATION_TOKEN_TTL_HOURS,
  };
}

export const CreateRegistrationBody = z
  .object({
    clusterName: z.string().trim().min(1).max(253).describe('Display name of the cluster; its id is derived from it'),
    tunnelUrl: httpsUrl.optional().describe('The tunnel broker URL the agent dials; defaults to REGISTRATION_TUNNEL_URL'),
    ttlHours: z.number().int().min(1).max(MAX_TTL_HOURS).optional().describe('Hours the token stays valid (default REGISTRATION_TOKEN_TTL_HOURS)'),
    labels: ClusterLabels.optional().describe('Labels of the cluster, as for an import: the tunnel broker authorises callers scoped by label with them'),
  })
  .strict();
export type CreateRegistrationBody = z.infer<typeof CreateRegistrationBody>;

export const RegistrationPath = z.object({ id: z.uuid({ error: 'must be a registration id (UUID)' }) });
export type RegistrationPath = z.infer<typeof RegistrationPath>;
