/** The built-in conntrackd notifier: keepalived's primary-backup.sh as a workflow step. */
export { conntrackdOptionsSchema, parseConntrackdOptions, type ConntrackdOptions, type ResolvedConntrackdOptions } from './options.js';
export { ROLE_ACTIONS, roleForState, actionArgs, type ConntrackdRole, type ConntrackdAction } from './plan.js';
export { runConntrackdRole, type ConntrackdReport, type CommandOutcome } from './run.js';
export { conntrackdSyncStep, syncConntrackd } from './step.js';
