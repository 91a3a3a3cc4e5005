/** A keepalived vrrp_script as an actor: interval ticks, rise/fall counting, health changes. */
export {
  createTrackScript,
  trackScriptMachine,
  type TrackScriptActor,
  type TrackScriptClock,
  type TrackScriptCommand,
  type TrackScriptEvent,
  type TrackScriptInput,
} from './machine.js';
export { countResult, initialCounter, type Counter, type RiseFall, type ScriptHealth } from './counter.js';
