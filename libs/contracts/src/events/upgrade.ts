import { z } from 'zod';
import { defineEvent, EXTERNAL } from '../event-definition.js';
import { ClusterModel, KubernetesVersion } from './common.js';

export const PlatformRelease = z.string().regex(/^\d+\.\d+$/, 'must be a platform release like 4.3');

export const UpgradePlanRequested = defineEvent({
  name: 'UpgradePlanRequested',
  topic: 'upgrade.plan-requested',
  version: 1,
  description: 'Plan upgrading the global cluster from one platform release to another. The subject is the plan id.',
  data: z.object({
    fromRelease: PlatformRelease,
    toRelease: PlatformRelease,
    maxConcurrency: z.number().int().min(1).max(1000).default(10),
  }),
  producers: ['inventory', EXTERNAL],
  consumers: ['upgrade-planner'],
});

export const ClusterAction = z.enum(['none', 'upgrade-before-global', 'may-upgrade-after', 'provider-action-required', 'blocked']);

export const UpgradePlanned = defineEvent({
  name: 'UpgradePlanned',
  topic: 'upgrade.planned',
  version: 1,
  description: 'A global upgrade plan was computed (or recomputed). The subject is the plan id.',
  data: z.object({
    fromRelease: PlatformRelease,
    toRelease: PlatformRelease,
    policyRevision: z.string().min(1),
    satisfiable: z.boolean(),
    clusters: z.array(
      z.object({
        clusterId: z.string().min(1),
        model: ClusterModel,
        currentVersion: KubernetesVersion,
        action: ClusterAction,
        path: z.array(KubernetesVersion).describe('Kubernetes minors one at a time, e.g. 1.29 -> 1.30 -> 1.31'),
        wave: z.number().int().nonnegative().optional(),
        reason: z.string(),
      }),
    ),
    changes: z.array(z.string()).default([]).describe('What changed against the previous revision of this plan'),
  }),
  producers: ['upgrade-planner'],
  consumers: ['inventory', 'provisioner'],
});
