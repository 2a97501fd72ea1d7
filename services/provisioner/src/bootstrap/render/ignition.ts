import type { BootstrapFile, NodeBootstrapPlan } from './plan.js';

export const IGNITION_VERSION = '3.4.0';

/** The part of the Ignition v3.4.0 configuration this renderer writes. */
export interface IgnitionConfig {
  ignition: { version: typeof IGNITION_VERSION };
  passwd?: { users: { name: string; sshAuthorizedKeys: string[] }[] };
  storage: { files: IgnitionFile[] };
  systemd: { units: IgnitionUnit[] };
}

export interface IgnitionFile {
  path: string;
  /** Decimal integer: 420 is 0644. */
  mode: number;
  overwrite: boolean;
  user: { name: string };
  group: { name: string };
  contents: { source: string };
}

export interface IgnitionUnit {
  name: string;
  enabled: boolean;
  contents?: string;
}

/** The plan as an Ignition config (Flatcar, Fedora CoreOS, MicroOS). */
export function renderIgnitionConfig(plan: NodeBootstrapPlan): IgnitionConfig {
  return {
    ignition: { version: IGNITION_VERSION },
    ...(plan.breakGlass && plan.breakGlass.authorizedKeys.length > 0
      ? { passwd: { users: [{ name: plan.breakGlass.user, sshAuthorizedKeys: plan.breakGlass.authorizedKeys }] } }
      : {}),
    storage: { files: plan.files.map(toIgnitionFile) },
    systemd: { units: plan.units.map((unit) => ({ name: unit.name, enabled: true, ...(unit.contents === undefined ? {} : { contents: unit.contents }) })) },
  };
}

export function renderIgnition(plan: NodeBootstrapPlan): string {
  return JSON.stringify(renderIgnitionConfig(plan));
}

function toIgnitionFile(file: BootstrapFile): IgnitionFile {
  return {
    path: file.path,
    mode: file.mode,
    overwrite: true,
    user: { name: 'root' },
    group: { name: 'root' },
    contents: { source: dataUrl(file.contents, file.secret) },
  };
}

/**
 * An RFC 2397 data URL: base64 for secret files (keys and tokens are not meant to be read by
 * eye), percent-encoded for the rest so someone debugging a node can follow the config.
 */
export function dataUrl(contents: string, base64: boolean): string {
  return base64 ? `data:;base64,${Buffer.from(contents, 'utf8').toString('base64')}` : `data:,${encodeURIComponent(contents)}`;
}
