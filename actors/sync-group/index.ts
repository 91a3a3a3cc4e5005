export { SyncGroup, type GroupTransition, type SyncGroupOptions } from './group.js';
export {
  decide,
  newGroup,
  removeMember,
  startMembers,
  type Decision,
  type GroupMove,
  type GroupState,
  type GroupView,
  type MemberReport,
  type MemberView,
  type Order,
} from './decide.js';
