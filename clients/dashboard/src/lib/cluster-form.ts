// The create-cluster form's fields as the request body of POST /api/v1/clusters. The API judges
// the request (and names every bad field); this only turns text fields into the body's types.

export interface PoolFields {
  name: string;
  count: string;
  machineSize: string;
}

export interface ClusterFormFields {
  id: string;
  name: string;
  kubernetesVersion: string;
  controlPlaneCount: string;
  controlPlaneSize: string;
  nodeOs: string;
  provider: string;
  /** One `key=value` a line. */
  labels: string;
  pools: PoolFields[];
}

export const EMPTY_FORM: ClusterFormFields = {
  id: '',
  name: '',
  kubernetesVersion: '',
  controlPlaneCount: '1',
  controlPlaneSize: 'small',
  nodeOs: 'microos',
  provider: '',
  labels: '',
  pools: [{ name: 'workers', count: '2', machineSize: 'small' }],
};

export interface FormProblem {
  field: string;
  message: string;
}

/** The body of a platform-provisioned cluster, or the fields that cannot be read. */
export function clusterRequestOf(fields: ClusterFormFields): { body: Record<string, unknown> } | { problems: FormProblem[] } {
  const problems: FormProblem[] = [];
  const labels: Record<string, string> = {};
  fields.labels
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .forEach((line, index) => {
      const at = line.indexOf('=');
      if (at <= 0) problems.push({ field: 'labels', message: `line ${index + 1} must be key=value, is "${line}"` });
      else labels[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    });
  const number = (text: string, field: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isInteger(value)) problems.push({ field, message: 'must be a whole number' });
    return value;
  };
  const controlPlaneCount = number(fields.controlPlaneCount, 'controlPlane.count');
  const nodePools = fields.pools.map((pool, index) => ({ name: pool.name.trim(), count: number(pool.count, `nodePools.${index}.count`), machineSize: pool.machineSize.trim() }));
  if (problems.length > 0) return { problems };
  const body: Record<string, unknown> = {
    ...(fields.id.trim() ? { id: fields.id.trim() } : {}),
    name: fields.name.trim(),
    model: 'platform-provisioned',
    kubernetesVersion: fields.kubernetesVersion.trim(),
    controlPlane: { count: controlPlaneCount, machineSize: fields.controlPlaneSize.trim() },
    nodePools,
    ...(fields.nodeOs ? { nodeOs: fields.nodeOs } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(fields.provider.trim() ? { infrastructure: { provider: fields.provider.trim(), parameters: {} } } : {}),
  };
  return { body };
}

/** The JSON editor's text as a request body, or why it is not one. */
export function parseRawRequest(text: string): { body: Record<string, unknown> } | { problems: FormProblem[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { problems: [{ field: 'spec', message: `is not JSON: ${error instanceof Error ? error.message : String(error)}` }] };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { problems: [{ field: 'spec', message: 'must be a JSON object (a cluster spec)' }] };
  return { body: parsed as Record<string, unknown> };
}
