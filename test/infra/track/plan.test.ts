/** track_file / track_process planning: keepalived 2.2.7's weight rules, from keepalived.conf text. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadKeepalivedText } from '../../../config/keepalived/index.js';
import type { VipflowConfig } from '../../../config/model.js';
import { fileRefsOf, fileTrack, processRefsOf, processTrack } from '../../../infra/track/plan.js';
import { planInstance } from '../../../infra/vrrp/plan.js';
import { effectivePriorityOf, faultCountOf } from '../../../actors/vrrp/timing.js';
import { LAN_HOST } from '../vrrp/fixtures.js';

const DEFS = `
track_file F1 {
  file /run/vftf-f1
}
track_file F5 {
  file /run/vftf-f5
  weight 5
}
vrrp_track_process P {
  process sleep 3001
  weight -10
}
`;

function load(instanceLines: string, groupLines?: string, priority = 100): VipflowConfig {
  const inst = `vrrp_instance A {\n  interface eth0\n  virtual_router_id 51\n  priority ${priority}\n  virtual_ipaddress {\n    198.18.0.100\n  }\n${instanceLines}\n}\n`;
  const group = groupLines === undefined ? '' : `vrrp_sync_group G {\n  group {\n    A\n  }\n${groupLines}\n}\n`;
  const r = loadKeepalivedText(DEFS + inst + group);
  assert.ok(r.model, JSON.stringify(r.diagnostics));
  return r.model;
}

const files = (c: VipflowConfig, owner = false) =>
  fileRefsOf(c.vrrpInstances[0]!, c.vrrpSyncGroups[0], owner, c.trackFiles).map((r) => [r.name, r.weight, r.reverse]);
const procs = (c: VipflowConfig, owner = false) =>
  processRefsOf(c.vrrpInstances[0]!, c.vrrpSyncGroups[0], owner, c.trackProcesses).map((r) => [r.name, r.weight, r.reverse]);

describe('track_file references', () => {
  test("an instance alone: the reference's weight, else the file's (default 1)", () => {
    const c = load('  track_file {\n    F1\n    F5 weight -3 reverse\n  }');
    assert.deepEqual(files(c), [
      ['F1', 1, false],
      ['F5', -3, true],
    ]);
  });

  test('in a sync group without sync_group_tracking_weight: weight 1 becomes 0, other weights drop the file', () => {
    const c = load('  track_file {\n    F1\n    F5\n  }', '');
    assert.deepEqual(files(c), [['F1', 0, false]]);
  });

  test('sync_group_tracking_weight keeps the instance weights', () => {
    const c = load('  track_file {\n    F1\n    F5\n  }', '  sync_group_tracking_weight');
    assert.deepEqual(files(c), [
      ['F1', 1, false],
      ['F5', 5, false],
    ]);
  });

  test("the group's own files keep their weights; an owner member zeroes them; the group's wins unless the instance's is 0", () => {
    const c = load('  track_file {\n    F1 weight 0\n  }', '  track_file {\n    F1 weight 7\n    F5\n  }');
    assert.deepEqual(files(c), [
      ['F1', 0, false],
      ['F5', 5, false],
    ]);
    assert.deepEqual(files(c, true), [
      ['F1', 0, false],
      ['F5', 0, false],
    ]);
    const d = load('  track_file {\n    F1 weight 2\n  }', '  sync_group_tracking_weight\n  track_file {\n    F1 weight 7\n  }');
    assert.deepEqual(files(d), [['F1', 7, false]]);
  });

  test('an address owner keeps only unweighted files (default weight 1 becomes 0)', () => {
    const c = load('  track_file {\n    F1\n    F5\n  }', undefined, 255);
    assert.deepEqual(files(c), [['F1', 0, false]]);
  });
});

describe('track_process references', () => {
  test('instance weights are kept even in a sync group; the group adds its own', () => {
    const c = load('  track_process {\n    P\n  }', '');
    assert.deepEqual(procs(c), [['P', -10, false]]);
    const g = load('', '  track_process {\n    P weight 4\n  }');
    assert.deepEqual(procs(g), [['P', 4, false]]);
    assert.deepEqual(procs(g, true), [['P', 0, false]], 'an owner member zeroes the group weight');
  });
});

describe('tracked objects', () => {
  test('a file is value-weighted: offset value × weight, Fault at -254', () => {
    assert.deepEqual(fileTrack({ name: 'F', weight: 5, reverse: false }, 4), { id: 'file:F', weight: 5, up: true, offset: 20 });
    assert.deepEqual(fileTrack({ name: 'F', weight: 5, reverse: true }, 4), { id: 'file:F', weight: -5, up: true, offset: -20 });
    assert.deepEqual(fileTrack({ name: 'F', weight: 1, reverse: false }, -300), { id: 'file:F', weight: 1, up: false, offset: 0 });
    assert.deepEqual(fileTrack({ name: 'F', weight: 0, reverse: false }, 1), { id: 'file:F', weight: 0, up: false, offset: 0 });
  });

  test('a process is up with quorum; reverse inverts it and negates the weight', () => {
    assert.deepEqual(processTrack({ name: 'P', weight: -10, reverse: false }, false), { id: 'process:P', weight: -10, up: false });
    assert.deepEqual(processTrack({ name: 'P', weight: 10, reverse: true }, true), { id: 'process:P', weight: -10, up: false });
    assert.deepEqual(processTrack({ name: 'P', weight: 0, reverse: true }, true), { id: 'process:P', weight: 0, up: false });
  });

  test('planInstance plans files and processes from their current state', () => {
    const c = load('  track_file {\n    F5\n  }\n  track_process {\n    P\n  }');
    const r = planInstance(c.vrrpInstances[0]!, LAN_HOST, undefined, {
      defs: [],
      health: () => undefined,
      files: { defs: c.trackFiles, value: () => 3 },
      processes: { defs: c.trackProcesses, quorum: () => false },
    });
    assert.ok(r.ok);
    const tracks = r.plan.machine.tracks?.filter((t) => t.id !== 'interface:eth0' && !t.id.startsWith('source:'));
    assert.deepEqual(tracks, [
      { id: 'file:F5', weight: 5, up: true, offset: 15 },
      { id: 'process:P', weight: -10, up: false },
    ]);
  });

  test('an undefined file or process is a plan error', () => {
    const c = load('  track_file {\n    F5\n  }');
    const r = planInstance(c.vrrpInstances[0]!, LAN_HOST, undefined, { defs: [], health: () => undefined, files: { defs: [], value: () => 0 } });
    assert.equal(r.ok, false);
  });
});

test('the mix keepalived 2.2.7 was run with: group file weighted, instance process weighted, instance files restricted', () => {
  // keepalived logged, for F1=2 and F5=4 and no such process: "ignoring weight from
  // tracked file F1 due to SYNC group", "ignoring tracked file F5 with weight 5 due to
  // SYNC group", "entering FAULT state (tracked file F1 has status -254)" and
  // "Changing effective priority from 100 to 102" (100 + 3 × 4 − 10).
  const c = load('  track_file {\n    F1\n    F5\n  }\n  track_process {\n    P\n  }', '  track_file {\n    F5 weight 3\n  }');
  const r = planInstance(c.vrrpInstances[0]!, LAN_HOST, c.vrrpSyncGroups[0], {
    defs: [],
    health: () => undefined,
    files: { defs: c.trackFiles, value: (n) => (n === 'F1' ? 2 : 4) },
    processes: { defs: c.trackProcesses, quorum: () => false },
  });
  assert.ok(r.ok);
  assert.deepEqual(
    r.plan.machine.tracks?.filter((t) => !t.id.startsWith('interface:') && !t.id.startsWith('source:')),
    [
      { id: 'file:F1', weight: 0, up: false, offset: 0 },
      { id: 'file:F5', weight: 3, up: true, offset: 12 },
      { id: 'process:P', weight: -10, up: false },
    ],
  );
  const tracks = r.plan.machine.tracks!.map((t) => ({ id: t.id, weight: t.weight, up: t.up ?? true, ...(t.offset !== undefined ? { offset: t.offset } : {}) }));
  assert.equal(effectivePriorityOf(100, tracks), 102);
  assert.equal(faultCountOf(tracks), 1);
});
