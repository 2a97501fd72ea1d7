import { applyDecorators } from '@nestjs/common';
import { z } from 'zod';
import { ApiAnswer, ApiRequestBody } from './decorators.js';

/**
 * What routes that relay a cluster's Kubernetes API answer and take: whatever the API server
 * says and accepts, unchanged. The tunnel broker's and the importer's proxies share them.
 */
export const KubernetesAnswer = z.unknown().describe("The Kubernetes API server's answer (a resource, a list, a Status, a watch stream or logs), relayed unchanged");

/** A request body relayed unchanged to the Kubernetes API server. */
export const KubernetesObject = z.looseObject({ apiVersion: z.string(), kind: z.string() }).describe('A Kubernetes object, relayed unchanged');

/** A PATCH body relayed unchanged: a merge patch (an object) or a JSON patch (a list of operations). */
export const KubernetesPatch = z
  .union([z.record(z.string(), z.unknown()), z.array(z.looseObject({ op: z.string(), path: z.string() }))])
  .describe('A merge, strategic-merge or apply patch (an object) or a JSON patch (operations), as the content type says; relayed unchanged');

/** A kubeconfig document, as the kubeconfig routes answer it. */
export const KubeconfigText = z.string().describe('A kubeconfig (YAML): one cluster, one user, one context, current');

const EXAMPLE_CONFIGMAP = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'default' }, data: { mode: 'edge' } };

/** The success answer of a relayed verb, and its request body for those that send one. */
export function ApiRelayedKubernetes(verb: 'read' | 'create' | 'replace' | 'patch' | 'delete'): MethodDecorator {
  const answer = ApiAnswer(200, KubernetesAnswer, "The cluster's answer with its own status (201, 404, 409... as Kubernetes says), streamed");
  switch (verb) {
    case 'read':
    case 'delete':
      return applyDecorators(answer);
    case 'create':
      return applyDecorators(answer, ApiRequestBody(KubernetesObject, EXAMPLE_CONFIGMAP, { required: false }));
    case 'replace':
      return applyDecorators(answer, ApiRequestBody(KubernetesObject, EXAMPLE_CONFIGMAP));
    case 'patch':
      return applyDecorators(answer, ApiRequestBody(KubernetesPatch, { data: { mode: 'edge' } }));
  }
}
