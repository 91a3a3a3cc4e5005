/** Public API of the vipflow package. */
export { createLogger, silentLogger, type Logger } from './infra/logger.js';
