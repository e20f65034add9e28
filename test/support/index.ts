export * from './workspace.js';
export * from './run-kind.js';
export * from './engine.js';
export * from './bytes.js';
