export * from './policy-state.js';
export * from './policy-in-force.js';
export * from './policy.module.js';
