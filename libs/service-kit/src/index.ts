export * from './config.js';
export * from './database.js';
export * from './health.controller.js';
export * from './service-kit.module.js';
export * from './bootstrap.js';
export * from './validation.js';
export * from './clock.js';
export * from './periodic-task.js';
