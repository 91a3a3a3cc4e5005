/** keepalived's vrrp_track_process: process matching and quorum with fork/terminate delays. */
export {
  hasQuorum,
  initialQuorum,
  ProcessQuorum,
  stepQuorum,
  type QuorumClock,
  type QuorumCommand,
  type QuorumEvent,
  type QuorumSettings,
  type QuorumState,
} from './quorum.js';
export { matchesProcess, processMatcher, type ProcessMatcher, type ProcessSample } from './match.js';
