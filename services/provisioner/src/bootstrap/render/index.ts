import { renderCombustion } from './combustion.js';
import { BootstrapDataError } from './errors.js';
import { renderIgnition } from './ignition.js';
import { NODE_OSES, type NodeBootstrapInput, type NodeOs, planNodeBootstrap } from './plan.js';

export { BootstrapDataError, type BootstrapDataErrorCode, describeBootstrapDataErrorCode } from './errors.js';
export { type KubeadmConfigInput, type KubeadmNode, KUBEADM_CONFIG_PATH, renderKubeadmConfig } from './kubeadm.js';
export { type IgnitionConfig, IGNITION_VERSION, renderIgnition, renderIgnitionConfig } from './ignition.js';
export { renderCombustion, shellQuote } from './combustion.js';
export { type BreakGlassAccess, type NodeBootstrapInput, type NodeBootstrapPlan, type NodeOs, NODE_OSES, planNodeBootstrap } from './plan.js';

export type BootstrapFormat = 'ignition' | 'combustion';

/** What a provider hands the machine as user data. Holds join secrets: never log it. */
export interface BootstrapData {
  format: BootstrapFormat;
  content: string;
}

export interface BootstrapDataInput extends NodeBootstrapInput {
  /** Overrides the OS's native format (only MicroOS reads both). */
  format?: BootstrapFormat;
}

/**
 * The first-boot data of one platform machine. Flatcar and Fedora CoreOS read Ignition only.
 * MicroOS reads both Ignition and Combustion on first boot; it gets Combustion by default, its
 * native tool, which runs as a script in the new root and so needs no Ignition support from the
 * platform's metadata service. A provider whose MicroOS images take their user data through
 * Ignition asks for `format: 'ignition'`. Both encode the same plan.
 */
export function renderBootstrapData(input: BootstrapDataInput): BootstrapData {
  if (!NODE_OSES.includes(input.nodeOs)) throw new BootstrapDataError('node-os-unsupported', 'nodeOs', JSON.stringify(String(input.nodeOs)));
  const format = input.format ?? nativeFormat(input.nodeOs);
  if (!formatsFor(input.nodeOs).includes(format)) throw new BootstrapDataError('node-os-unsupported', 'format', `${input.nodeOs} does not read ${format}`);
  const plan = planNodeBootstrap(input);
  switch (format) {
    case 'ignition':
      return { format, content: renderIgnition(plan) };
    case 'combustion':
      return { format, content: renderCombustion(plan) };
  }
}

export function nativeFormat(nodeOs: NodeOs): BootstrapFormat {
  switch (nodeOs) {
    case 'microos':
      return 'combustion';
    case 'flatcar':
    case 'fedora-coreos':
      return 'ignition';
  }
}

export function formatsFor(nodeOs: NodeOs): BootstrapFormat[] {
  switch (nodeOs) {
    case 'microos':
      return ['combustion', 'ignition'];
    case 'flatcar':
    case 'fedora-coreos':
      return ['ignition'];
  }
}
