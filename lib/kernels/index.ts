export * from './kernel_api.js';
