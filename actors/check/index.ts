/** keepalived's checker subsystem as pure rules: one checker's schedule and verdicts, a real server from its checkers, a virtual server's quorum. */
export {
  BOOTSTRAP_DELAY_MS,
  checkerMachine,
  createChecker,
  type CheckerActor,
  type CheckerClock,
  type CheckerCommand,
  type CheckerEvent,
  type CheckerInput,
  type CheckerSetupError,
} from './checker.js';
export { initialCounters, judge, type CheckerCounters, type Verdict, type VerdictRules } from './verdict.js';
export {
  WEIGHT_LIMIT,
  checkerChanged,
  initialRealServer,
  miscExit,
  miscExitOk,
  poolEntry,
  realWeight,
  type PoolEntry,
  type RealServerChange,
  type RealServerRules,
  type RealServerState,
} from './real-server.js';
export {
  addressChanged,
  checkersEnabled,
  initialVirtualServer,
  liveWeight,
  realServerEntry,
  reweigh,
  shutdown,
  sorryServerEntry,
  type RealServerView,
  type Step,
  type VirtualServerCommand,
  type VirtualServerRules,
  type VirtualServerState,
} from './virtual-server.js';
