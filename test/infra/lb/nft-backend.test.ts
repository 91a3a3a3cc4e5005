/**
 * The nftables backend against a stand-in nft (a shell script that records
 * each script it is given and fails on demand): which transactions it sends,
 * refusals before any run, the fallback to a whole-table replacement, errors
 * as values. No real nft runs here; test/lab/lb-nft.test.ts has the kernel.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NftBackend } from '../../../infra/lb/nft-backend.js';
import type { LbState, LbVirtualService } from '../../../infra/lb/model.js';

let dir: string;
let fake: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'vipflow-nftlb-unit-'));
  fake = join(dir, 'nft');
  // Records stdin as run-N.nft; fails (exit 1, message on stderr) while a file named `fail` exists or when the script holds `delete table` and `fail-full` exists.
  writeFileSync(
    fake,
    `#!/bin/sh
n=$(ls ${dir} | grep -c '^run-')
cat > ${dir}/run-$n.nft
if [ -e ${dir}/fail ]; then echo "Error: Could not process rule: File exists" >&2; exit 1; fi
if [ -e ${dir}/fail-incremental ] && ! grep -q 'delete table' ${dir}/run-$n.nft; then echo "Error: No such file or directory" >&2; exit 1; fi
exit 0
`,
  );
  chmodSync(fake, 0o755);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const runs = (): string[] =>
  readdirSync(dir)
    .filter((f) => f.startsWith('run-'))
    .sort((a, b) => Number(a.slice(4, -4)) - Number(b.slice(4, -4)))
    .map((f) => readFileSync(join(dir, f), 'utf8'));
const reset = (): void => {
  for (const f of readdirSync(dir)) if (f !== 'nft') rmSync(join(dir, f));
};

function svc(weight: number, over: Partial<LbVirtualService> = {}): LbVirtualService {
  return {
    id: '198.18.0.100:80/tcp',
    virtualServer: '198.18.0.100:80',
    service: { kind: 'address', family: 4, protocol: 'tcp', address: '198.18.0.100', port: 80 },
    scheduler: 'wrr',
    lbKind: 'NAT',
    destinations: [
      { address: '198.18.1.1', port: 80, weight },
      { address: '198.18.1.2', port: 80, weight: 1 },
    ],
    ...over,
  };
}

test('first apply replaces the table, the next sends only the change, an equal state sends nothing', async () => {
  reset();
  const b = new NftBackend({ nftPath: fake });
  const s1: LbState = { services: [svc(1)] };
  const r1 = await b.apply(s1);
  assert.ok(r1.ok);
  assert.deepEqual(r1.diff, { added: ['198.18.0.100:80/tcp'], removed: [], changed: [] });
  assert.equal(b.lastApplyMode, 'full');
  // The caller mutating its own object afterwards changes nothing the backend knows.
  s1.services[0]!.destinations[0]!.weight = 9;
  const r2 = await b.apply({ services: [svc(3)] });
  assert.ok(r2.ok);
  assert.deepEqual(r2.diff, { added: [], removed: [], changed: ['198.18.0.100:80/tcp'] });
  assert.equal(b.lastApplyMode, 'incremental');
  const r3 = await b.apply({ services: [svc(3)] });
  assert.ok(r3.ok);
  assert.equal(b.lastApplyMode, 'unchanged');
  const sent = runs();
  assert.equal(sent.length, 2);
  assert.match(sent[0]!, /^add table inet vipflow\ndelete table inet vipflow\n/);
  assert.match(sent[1]!, /^flush chain inet vipflow s0$/m);
  assert.doesNotMatch(sent[1]!, /delete table/);
});

test('refused before any nft run: unsupported services and duplicate ids, all named', async () => {
  reset();
  const b = new NftBackend({ nftPath: fake });
  const r = await b.apply({ services: [svc(1, { scheduler: 'lblc' }), svc(1), svc(1, { id: 'x', lbKind: 'TUN' })] });
  assert.equal(r.ok, false);
  const error = r.ok ? '' : r.error;
  assert.match(error, /lb_algo lblc/);
  assert.match(error, /the same service twice/);
  assert.match(error, /lb_kind TUN/);
  assert.equal(runs().length, 0);
  assert.equal(b.current, undefined);
});

test('an incremental change refused by nft falls back to a whole-table replacement; both refused: the error carries nft stderr', async () => {
  reset();
  const b = new NftBackend({ nftPath: fake });
  assert.ok((await b.apply({ services: [svc(1)] })).ok);
  writeFileSync(join(dir, 'fail-incremental'), '');
  const r = await b.apply({ services: [svc(2)] });
  assert.ok(r.ok);
  assert.equal(b.lastApplyMode, 'full');
  assert.equal(runs().length, 3);
  writeFileSync(join(dir, 'fail'), '');
  const bad = await b.apply({ services: [svc(5)] });
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.error, /nft -f failed \(1\): Error: Could not process rule: File exists/);
  // What is installed is still the last good state.
  assert.equal(b.current!.services[0]!.destinations[0]!.weight, 2);
});

test('a missing nft binary is an error value, not an exception; applies run one at a time', async () => {
  const missing = new NftBackend({ nftPath: join(dir, 'no-such-nft') });
  const r = await missing.apply({ services: [svc(1)] });
  assert.equal(r.ok, false);
  reset();
  const b = new NftBackend({ nftPath: fake });
  const all = await Promise.all([b.apply({ services: [svc(1)] }), b.apply({ services: [svc(2)] }), b.apply({ services: [svc(3)] })]);
  assert.ok(all.every((x) => x.ok));
  assert.deepEqual(
    all.map((x) => x.diff.changed.length + x.diff.added.length),
    [1, 1, 1],
  );
  assert.equal(b.current!.services[0]!.destinations[0]!.weight, 3);
});
