// A typed scenario: a graceful stop (systemctl stop) of the Master hands over
// after Skew_Time with no moment where nobody holds the VIP.
import { defineScenario } from 'vipflow';

export default defineScenario({
  name: 'sigterm-handover',
  until: '20s',
  nodes: {
    a: { config: 'keepalived-a.conf' },
    b: { config: 'keepalived-b.conf' },
  },
  faults: [{ at: '10s', do: 'sigterm', node: 'a' }],
  expect: [
    { expect: 'vip-held', address: '198.18.0.100', within: 0 },
    { expect: 'sequence', events: ['a fault sigterm', 'a VI_1 master -> stopped', 'b VI_1 backup -> master (priority-zero-skew'] },
    { expect: 'state', node: 'b', at: '11s', state: 'master' },
  ],
});
