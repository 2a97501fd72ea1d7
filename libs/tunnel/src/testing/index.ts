/**
 * Test kit of the tunnel (`@flotilla/tunnel/testing`): a stand-in Kubernetes API server, over
 * HTTPS and stateful, for the broker's, the agent's, the importer's and end-to-end tests.
 */
export { StandInApiServer, type RecordedRequest, type StandInApiServerOptions } from './api-server.js';
export { EXEC_PROTOCOLS } from './exec.js';
export type { PodOptions } from './pods.js';
export type { KubeObject, ObjectMeta } from './status.js';
