import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import type { BootstrapData } from '../../bootstrap/render/index.js';
import { KUBEADM_CONFIG_PATH } from '../../bootstrap/render/kubeadm.js';

/**
 * What a simulated machine's kubeadm presents to its cluster, read from its first-boot data as
 * the machine itself would read it. The token's id is public (it names the token's Secret);
 * the token and the certificate key are kept as SHA-256 only.
 */
export interface FirstBootKubeadm {
  action: 'init' | 'join';
  controlPlane: boolean;
  tokenId: string;
  tokenSha256: string;
  /** `init`: how long the token it creates lasts. */
  tokenTtlMs: number | null;
  /** `init` uploads the certificates under it; a control-plane `join` downloads them with it. */
  certificateKeySha256: string | null;
  /** The API server endpoint it is configured with (ClusterConfiguration's, or the one it discovers the cluster at). */
  endpoint: string | null;
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** The kubeadm part of first-boot data; undefined when it has none (or none this reads). */
export function firstBootKubeadm(data: BootstrapData): FirstBootKubeadm | undefined {
  const config = kubeadmConfigIn(data);
  if (config === undefined) return undefined;
  const documents = kubeadmDocuments(config);
  if (documents === undefined) return undefined;
  const init = documents.find((document) => document.kind === 'InitConfiguration');
  if (init) {
    const token = init.bootstrapTokens?.[0];
    if (!token?.token) return undefined;
    return {
      action: 'init',
      controlPlane: true,
      tokenId: tokenIdOf(token.token),
      tokenSha256: sha256(token.token),
      tokenTtlMs: durationMs(token.ttl ?? '24h'),
      certificateKeySha256: init.certificateKey ? sha256(init.certificateKey) : null,
      endpoint: documents.find((document) => document.kind === 'ClusterConfiguration')?.controlPlaneEndpoint ?? null,
    };
  }
  const join = documents.find((document) => document.kind === 'JoinConfiguration');
  const token = join?.discovery?.bootstrapToken?.token;
  if (!join || !token) return undefined;
  const key = join.controlPlane?.certificateKey;
  return {
    action: 'join',
    controlPlane: join.controlPlane !== undefined,
    tokenId: tokenIdOf(token),
    tokenSha256: sha256(token),
    tokenTtlMs: null,
    certificateKeySha256: key ? sha256(key) : null,
    endpoint: join.discovery?.bootstrapToken?.apiServerEndpoint ?? null,
  };
}

interface KubeadmDocument {
  kind?: string;
  bootstrapTokens?: { token?: string; ttl?: string }[];
  certificateKey?: string;
  controlPlaneEndpoint?: string;
  discovery?: { bootstrapToken?: { token?: string; apiServerEndpoint?: string } };
  controlPlane?: { certificateKey?: string };
}

/**
 * The documents of a kubeadm configuration, each parsed on its own: `parseAllDocuments` keeps a
 * syntax tree of the whole stream and costs three times as much, a third of a millisecond for a
 * worker's one document, which adds up over a fleet's machines. Undefined when one is not YAML.
 */
function kubeadmDocuments(config: string): KubeadmDocument[] | undefined {
  try {
    return config
      .split(/^---[ \t]*$/m)
      .map((text) => parse(text) as KubeadmDocument | null)
      .filter((document): document is KubeadmDocument => typeof document === 'object' && document !== null);
  } catch {
    return undefined;
  }
}

function tokenIdOf(token: string): string {
  return token.slice(0, token.indexOf('.'));
}

/** Go's duration as kubeadm writes it (`24h0m0s`). */
function durationMs(duration: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  if (!match) return 0;
  return ((Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0)) * 60 + Number(match[3] ?? 0)) * 1000;
}

/** The kubeadm configuration file, as Ignition or Combustion would write it. */
function kubeadmConfigIn(data: BootstrapData): string | undefined {
  switch (data.format) {
    case 'ignition': {
      let config: { storage?: { files?: { path?: string; contents?: { source?: string } }[] } };
      try {
        config = JSON.parse(data.content) as typeof config;
      } catch {
        return undefined;
      }
      const source = config.storage?.files?.find((file) => file.path === KUBEADM_CONFIG_PATH)?.contents?.source;
      const base64 = source === undefined ? null : /^data:[^,]*;base64,(.*)$/s.exec(source);
      if (base64) return Buffer.from(base64[1]!, 'base64').toString('utf8');
      return source?.startsWith('data:,') ? decodeURIComponent(source.slice('data:,'.length)) : undefined;
    }
    case 'combustion': {
      // write_file '<path>' <mode> <<'<END>' ... base64 lines ... <END>
      const start = data.content.indexOf(`write_file '${KUBEADM_CONFIG_PATH}' `);
      if (start < 0) return undefined;
      const heredoc = /<<'([A-Z_]+)'\n([\s\S]*?)\n\1\n/.exec(data.content.slice(start));
      return heredoc ? Buffer.from(heredoc[2]!.replace(/\n/g, ''), 'base64').toString('utf8') : undefined;
    }
  }
}
