// Pure: keepalived's lower_prio_no_advert and garp_lower_prio_* from the config into the plan,
// with keepalived 2.2.7's defaults (vrrp.c: inherited from global_defs, forced by vrrp_strict).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planInstance, type InstancePlan } from '../../../infra/vrrp/plan.js';
import { loadKeepalivedText } from '../../../config/keepalived/index.js';
import { LAN_HOST } from './fixtures.js';

function planOf(globals: string, body: string): InstancePlan {
  const text = `global_defs {\n${globals}\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  advert_int 0.5\n  version 3\n${body}\n  virtual_ipaddress {\n    198.18.0.20/24\n  }\n}\n`;
  const r = loadKeepalivedText(text);
  assert.ok(r.model, JSON.stringify(r.diagnostics));
  const p = planInstance(r.model.vrrpInstances[0]!, LAN_HOST);
  assert.ok(p.ok, JSON.stringify(p));
  return p.plan;
}

test('defaults: adverts answered; garp_lower_prio_* follow garp_master_* (5 s, 5); bursts at most one per advert interval', () => {
  const p = planOf('', '');
  assert.equal(p.machine.lowerPrioNoAdvert, undefined);
  assert.equal(p.garp.lowerPrioDelayMs, 5000);
  assert.equal(p.garp.lowerPrioRepeat, 5);
  assert.equal(p.garp.lowerPrioGapMs, 500);
});

test('lower_prio_no_advert per instance (bare means on) and from vrrp_lower_prio_no_advert', () => {
  assert.equal(planOf('', '  lower_prio_no_advert').machine.lowerPrioNoAdvert, true);
  assert.equal(planOf('', '  lower_prio_no_advert false').machine.lowerPrioNoAdvert, undefined);
  assert.equal(planOf('  vrrp_lower_prio_no_advert', '').machine.lowerPrioNoAdvert, true);
  assert.equal(planOf('  vrrp_lower_prio_no_advert', '  lower_prio_no_advert off').machine.lowerPrioNoAdvert, undefined);
});

test('garp_lower_prio_delay / _repeat per instance and from vrrp_garp_master_delay', () => {
  const p = planOf('  vrrp_garp_master_delay 2', '  garp_lower_prio_repeat 3');
  assert.equal(p.garp.lowerPrioDelayMs, 2000);
  assert.equal(p.garp.lowerPrioRepeat, 3);
  assert.equal(planOf('', '  garp_lower_prio_delay 1').garp.lowerPrioDelayMs, 1000);
});

test('vrrp_strict: no lower-priority advert answers, no lower-priority bursts', () => {
  const p = planOf('  vrrp_strict', '');
  assert.equal(p.machine.lowerPrioNoAdvert, true);
  assert.equal(p.garp.lowerPrioRepeat, 0);
  assert.equal(p.garp.lowerPrioDelayMs, 0);
});
