/** The built-in VIP notifier: a step that waits until this node holds and announced the instance's VIPs. */
export { vipOptionsSchema, parseVipOptions, controlSocketPath, DEFAULT_CONTROL_SOCKET, type VipOptions, type ResolvedVipOptions } from './options.js';
export { vipReadyStep, waitVipReady, readHeldAddresses, type VipReadyReport } from './step.js';
export { checkVipReadiness, normalizeAddress, parseStatusVip, type HeldAddresses, type VipReadiness, type ReadinessInput } from './readiness.js';
