/**
 * The IPVS backend's I/O: against Debian's real ipvsadm on this kernel (no IPVS, so
 * every call must come back as an error value, never an exception), and against a
 * stand-in ipvsadm (a shell script) that lists a table and records what -R is fed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../core/logger.js';
import { createIpvsBackend, ipvsAvailable } from '../../../infra/lb/ipvs-backend.js';
import type { LbVirtualService } from '../../../infra/lb/model.js';
import { LIST_N } from './ipvsadm-output.js';

const web: LbVirtualService = {
  id: 'web',
  virtualServer: '198.18.0.100:80',
  service: { kind: 'address', family: 4, protocol: 'tcp', address: '198.18.0.100', port: 80 },
  scheduler: 'wrr',
  lbKind: 'NAT',
  persistenceTimeoutS: 300,
  persistenceGranularity: '255.255.255.0',
  destinations: [
    { address: '198.18.1.1', port: 8080, weight: 4 },
    { address: '198.18.1.2', port: 8080, weight: 0 },
  ],
};

test(
  'this kernel has no IPVS: the real ipvsadm refuses, and the backend reports it without throwing',
  { skip: ipvsAvailable() ? 'this kernel has IPVS' : false },
  async () => {
    assert.equal(ipvsAvailable(), false);
    const b = createIpvsBackend({ log: silentLogger() });
    const r = await b.apply({ services: [web] });
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.match(
      r.error,
      /^ipvsadm -Ln failed \(exit 2\): Can't initialize ipvs: Protocol not available Are you sure that IP Virtual Server is built in the kernel or as module\?$/,
    );
    assert.deepEqual(r.diff, { added: [], removed: [], changed: [] });
    assert.deepEqual(await b.counters(), []);
    await b.clear();
  },
);

test('a missing ipvsadm binary is an error value too', async () => {
  const b = createIpvsBackend({ log: silentLogger(), ipvsadm: '/nonexistent/ipvsadm' });
  const r = await b.apply({ services: [] });
  assert.ok(!r.ok && /ENOENT/.test(r.error));
});

test('unsupported services refuse the whole apply before anything runs', async () => {
  const b = createIpvsBackend({ log: silentLogger(), ipvsadm: '/nonexistent/ipvsadm' });
  const r = await b.apply({ services: [{ ...web, scheduler: 'random' }] });
  assert.ok(!r.ok && /lb_algo 'random'/.test(r.error));
  assert.match(b.unsupported({ ...web, lbKind: 'DR', scheduler: 'twos' }) ?? 'null', /^null$/);
  const same = await b.apply({ services: [web, { ...web, id: 'web-again' }] });
  assert.ok(!same.ok && /virtual services web and web-again are the same IPVS service \(tcp:198\.18\.0\.100:80\)/.test(same.error));
});

function fakeIpvsadm(dir: string, listing: string, restoreExit = 0): string {
  writeFileSync(join(dir, 'listing'), listing);
  const bin = join(dir, 'ipvsadm');
  writeFileSync(
    bin,
    `#!/bin/sh
echo "$*" >> ${dir}/calls
case "$1" in
  -Ln) cat ${dir}/listing ;;
  -R) cat >> ${dir}/restored; [ ${restoreExit} -eq 0 ] || { echo "Memory allocation problem" >&2; exit ${restoreExit}; } ;;
  *) exit 1 ;;
esac
`,
  );
  chmodSync(bin, 0o755);
  return bin;
}

test('stand-in ipvsadm: the plan is fed to one ipvsadm -R; only the weight change runs; foreign services are left', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-ipvs-'));
  try {
    const bin = fakeIpvsadm(dir, LIST_N);
    const b = createIpvsBackend({ log: silentLogger(), ipvsadm: bin });
    const desired = {
      ...web,
      destinations: [
        { address: '198.18.1.1', port: 8080, weight: 4 },
        { address: '198.18.1.2', port: 8080, weight: 0 },
      ],
    };
    const r = await b.apply({ services: [desired] });
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.deepEqual(r.diff, { added: [], removed: [], changed: ['web'] });
    assert.equal(readFileSync(join(dir, 'restored'), 'utf8'), '-e -t 198.18.0.100:80 -r 198.18.1.1:8080 -m -w 4\n');
    assert.equal(readFileSync(join(dir, 'calls'), 'utf8'), '-Ln\n-R\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stand-in ipvsadm with ownAll: services not desired are deleted; a failing -R is reported with the diff', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-ipvs-'));
  try {
    const bin = fakeIpvsadm(dir, LIST_N, 1);
    const b = createIpvsBackend({ log: silentLogger(), ipvsadm: bin, ownAll: true });
    const r = await b.apply({ services: [web] });
    assert.ok(!r.ok);
    assert.match(r.error, /^ipvsadm -R \(6 commands\) failed \(exit 1\): Memory allocation problem; IPVS has no transactions/);
    assert.equal(r.diff.removed.length, 5);
    assert.ok(readFileSync(join(dir, 'restored'), 'utf8').endsWith('-D -f 8 -6\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stand-in ipvsadm that hangs is killed at the bound', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-ipvs-'));
  try {
    const bin = join(dir, 'ipvsadm');
    writeFileSync(bin, '#!/bin/sh\nexec sleep 5\n');
    chmodSync(bin, 0o755);
    const b = createIpvsBackend({ log: silentLogger(), ipvsadm: bin, listTimeoutMs: 200 });
    const t0 = Date.now();
    const r = await b.apply({ services: [] });
    assert.ok(!r.ok && /killed after 200 ms/.test(r.error));
    assert.ok(Date.now() - t0 < 2000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
