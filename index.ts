/**
 * Public API of the vipflow package: what a vipflow.config.ts, a workflow
 * file or an embedding program imports. `vipflow/config` is the same
 * configuration API on its own.
 */
export { createLogger, silentLogger, type Logger } from './core/logger.js';
export * from './config/index.js';
export { createVrrpInstance, systemClock, type VrrpActor, type VrrpClock, type VrrpCommand, type VrrpInput, type VrrpStateName } from './actors/vrrp/index.js';
export { decodeVrrp, encodeVrrp, type VrrpAdvert, type DecodeResult } from './wire/codec/index.js';
export { defineScenario, type ScenarioInput } from './sim/scenario/model.js';
