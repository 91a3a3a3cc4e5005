/**
 * Pending IPv6 sources (daemon/link-local-sources.ts) with stand-in runners:
 * only instances still waiting get an address, only when their interface has
 * one, and a socket that cannot open is logged with the instance left in Fault.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '../../core/logger.js';
import type { InstanceRunner } from '../../infra/vrrp/instance-runner.js';
import { resolvePendingSources, sourcesPending } from '../../daemon/link-local-sources.js';

function standIn(name: string, iface: string, pending: boolean, result: { ok: true } | { ok: false; code: string; message: string } = { ok: true }) {
  const given: string[] = [];
  const runner = {
    sourcePending: pending,
    plan: { name, interface: iface },
    resolveSource: (address: string) => {
      given.push(address);
      return result;
    },
  } as unknown as InstanceRunner;
  return { runner, given };
}

function recordingLog() {
  const errors: { obj: unknown; msg: string }[] = [];
  const log = { error: (obj: unknown, msg: string) => void errors.push({ obj, msg }) } as unknown as Logger;
  return { log, errors };
}

test('sourcesPending: whether any instance still waits for its link-local source', () => {
  assert.equal(sourcesPending([]), false);
  assert.equal(sourcesPending([standIn('a', 'eth0', false).runner]), false);
  assert.equal(sourcesPending([standIn('a', 'eth0', false).runner, standIn('b', 'eth1', true).runner]), true);
});

test('only waiting instances whose interface has a usable address are given it', () => {
  const waiting = standIn('VI_6', 'eth0', true);
  const noAddressYet = standIn('VI_7', 'eth1', true);
  const running = standIn('VI_4', 'eth0', false);
  const { log, errors } = recordingLog();
  const addresses: Record<string, string> = { eth0: 'fe80::1' };
  resolvePendingSources([waiting.runner, noAddressYet.runner, running.runner], (iface) => addresses[iface], log);
  assert.deepEqual(waiting.given, ['fe80::1']);
  assert.deepEqual(noAddressYet.given, []);
  assert.deepEqual(running.given, []);
  assert.deepEqual(errors, []);
});

test('a socket that cannot open for the new source is logged; the others still get theirs', () => {
  const failing = standIn('VI_6', 'eth0', true, { ok: false, code: 'EADDRNOTAVAIL', message: 'cannot bind' });
  const next = standIn('VI_8', 'eth2', true);
  const { log, errors } = recordingLog();
  resolvePendingSources([failing.runner, next.runner], () => 'fe80::2', log);
  assert.deepEqual(next.given, ['fe80::2']);
  assert.deepEqual(errors, [
    {
      obj: { instance: 'VI_6', code: 'EADDRNOTAVAIL', err: 'cannot bind' },
      msg: 'cannot open the VRRP socket for the new link-local source: the instance stays in Fault',
    },
  ]);
});
