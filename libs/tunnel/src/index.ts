export * from './identity.js';
export * from './backoff.js';
export * from './headers.js';
export * from './agent-link.js';
export * from './agent-listener.js';
export * from './forward.js';
export { relayUpgrade } from './upgrade.js';
export * from './kubernetes-forwarder.js';
export * from './kubernetes-front.js';
