/** Embedding Charla: start a node from a config, as `npm start` does. */
export { startNode, type CharlaNode, type NodeOptions } from './node/node.js';
export { createMemoryCluster, type MemoryCluster } from './backend/memory/memory-backend.js';
export { loadConfig, ConfigError, CONFIG_VARIABLES, type Config } from './config.js';
export { createLogger } from './logger.js';
export { ERROR_CATALOGUE, type ErrorCode } from './protocol/errors.js';
export { CLOSE_CODES, type CloseKind } from './protocol/close-codes.js';
export { USER_STATUSES, type UserStatus } from './protocol/status.js';
