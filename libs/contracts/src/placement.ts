import { z } from 'zod';

/**
 * Where JetStream keeps a stream's replicas (the stream config's `placement`): on the servers of
 * one cluster of a super-cluster, and among those on servers carrying every one of the tags (a
 * server's `server_tags`, e.g. `az:eu-west-1a`, `ssd`). Applied to every stream and key-value
 * bucket of the bus.
 */
export interface StreamPlacement {
  cluster?: string;
  tags?: string[];
}

/** NATS names (clusters) and tags: no spaces, no wildcards, no separators the server would split on. */
const NAME = /^[A-Za-z0-9_.:=/-]+$/;

/**
 * The variables that set the placement, validated at every service's start-up: a bad value stops
 * it, naming the variable. Both unset: JetStream places replicas where it likes (any server).
 *
 * - `BUS_PLACEMENT_CLUSTER`: the cluster's name (nats-server `cluster.name`);
 * - `BUS_PLACEMENT_TAGS`: tags, comma-separated; the server must carry them all.
 */
export const BusPlacementConfig = z.object({
  BUS_PLACEMENT_CLUSTER: z.string().regex(NAME, 'must be a NATS cluster name: letters, digits and _ . : = / - (no spaces or wildcards)').optional(),
  BUS_PLACEMENT_TAGS: z
    .string()
    .transform((value, context) => {
      const tags = value.split(',').map((tag) => tag.trim());
      for (const tag of tags) {
        if (tag === '') context.addIssue({ code: 'custom', message: 'must be tags separated by commas, none empty' });
        else if (!NAME.test(tag)) context.addIssue({ code: 'custom', message: `tag ${JSON.stringify(tag)} may hold only letters, digits and _ . : = / - (no spaces or wildcards)` });
      }
      // The server compares tags without regard to case.
      const lower = tags.map((tag) => tag.toLowerCase());
      const repeated = lower.find((tag, i) => tag !== '' && lower.indexOf(tag) !== i);
      if (repeated !== undefined) context.addIssue({ code: 'custom', message: `tag ${JSON.stringify(repeated)} is given twice` });
      return tags;
    })
    .optional(),
});
export type BusPlacementConfig = z.infer<typeof BusPlacementConfig>;

/** The placement the variables ask for, or undefined when they ask for none. */
export function streamPlacement(config: BusPlacementConfig): StreamPlacement | undefined {
  const { BUS_PLACEMENT_CLUSTER: cluster, BUS_PLACEMENT_TAGS: tags } = config;
  if (cluster === undefined && (tags === undefined || tags.length === 0)) return undefined;
  return { ...(cluster === undefined ? {} : { cluster }), ...(tags === undefined || tags.length === 0 ? {} : { tags }) };
}

/** How a placement reads in messages: `cluster east, tags az:1, ssd`. */
export function describePlacement(placement: StreamPlacement): string {
  return [placement.cluster === undefined ? '' : `cluster ${placement.cluster}`, placement.tags?.length ? `tags ${placement.tags.join(', ')}` : ''].filter(Boolean).join(', ');
}
