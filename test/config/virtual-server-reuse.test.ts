import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadKeepalivedText } from '../../config/keepalived/index.js';
import { VirtualServerReuse } from '../../config/virtual-server-reuse.js';

function conf(timeouts: number[], extra = ''): string {
  return timeouts
    .map((t, v) =>
      [
        `virtual_server 198.18.1.${v + 1} 80 {`,
        '  lb_algo rr',
        v === 0 ? extra : '',
        '  real_server 198.18.2.1 80 {',
        '    TCP_CHECK {',
        `      connect_timeout ${t}`,
        '    }',
        '  }',
        '}',
      ].join('\n'),
    )
    .join('\n');
}

test('a reload with reuse equals a plain load; unchanged virtual servers come back as the same objects', () => {
  const reuse = new VirtualServerReuse();
  const a = loadKeepalivedText(conf([3, 3, 3]), 'k.conf', { reuse });
  assert.ok(a.model);
  assert.deepEqual(a.model, loadKeepalivedText(conf([3, 3, 3])).model);
  const b = loadKeepalivedText(conf([3, 9, 3]), 'k.conf', { reuse });
  assert.ok(b.model);
  assert.deepEqual(b.model, loadKeepalivedText(conf([3, 9, 3])).model);
  assert.deepEqual(
    b.model.virtualServers.map((vs, i) => vs === a.model!.virtualServers[i]),
    [true, false, true],
  );
  assert.equal(b.model.virtualServers[1]!.realServers[0]!.checkers[0]!.connectTimeout, 9);
});

test('an invalid virtual server is reported at its source line with reuse as without, and is validated again next time', () => {
  const reuse = new VirtualServerReuse();
  assert.ok(loadKeepalivedText(conf([3, 3]), 'k.conf', { reuse }).model);
  // Any error inside the block: an unknown keyword with a block, which keepalived would misread (its '}' ends the virtual_server).
  const bad = conf([3, 3], '  sorry_servr 198.18.9.9 80 {\n  }');
  const withReuse = loadKeepalivedText(bad, 'k.conf', { reuse });
  const plain = loadKeepalivedText(bad, 'k.conf');
  assert.equal(withReuse.model, undefined);
  assert.deepEqual(withReuse.diagnostics, plain.diagnostics);
  assert.ok(
    withReuse.diagnostics.some((d) => d.severity === 'error' && d.line === 3 && /sorry_servr/.test(d.message)),
    JSON.stringify(withReuse.diagnostics),
  );
  // The same bad text again is not taken for valid because it was seen before.
  assert.equal(loadKeepalivedText(bad, 'k.conf', { reuse }).model, undefined);
});
