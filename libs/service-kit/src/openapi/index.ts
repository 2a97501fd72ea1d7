export * from './decorators.js';
export * from './document.js';
export * from './error-bodies.js';
export * from './json-schema.js';
export * from './completeness.js';
export * from './answer-schema.js';
export * from './kubernetes.js';
