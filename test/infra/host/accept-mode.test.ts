// Pure: the nft scripts for accept mode (keepalived's vips set and in/out drop rules). No network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCEPT_TABLE, acceptModeElementsScript, acceptModeSetupScript } from '../../../infra/host/accept-mode.js';

test("setup: keepalived's rules, input to and output from a VIP dropped; IPv6 neighbour discovery passes", () => {
  const s = acceptModeSetupScript();
  assert.ok(s.startsWith(`table ip ${ACCEPT_TABLE} {}\ndelete table ip ${ACCEPT_TABLE}\n`), 'any previous table replaced');
  assert.match(s, /hook input priority filter - 1; policy accept; ip daddr @vips drop;/);
  assert.match(s, /hook output priority filter - 1; policy accept; ip saddr @vips drop;/);
  assert.match(s, /icmpv6 type \{ nd-neighbor-solicit, nd-neighbor-advert \} accept; ip6 daddr @vips drop;/);
});

test('elements: by family; a delete adds first so an absent element is no error; nothing for no VIPs', () => {
  const vips = [
    { address: '198.18.0.9', family: 4 as const },
    { address: '198.18.0.10', family: 4 as const },
    { address: 'fd00:198:18::9', family: 6 as const },
  ];
  assert.equal(
    acceptModeElementsScript('add', vips),
    `add element ip ${ACCEPT_TABLE} vips { 198.18.0.9, 198.18.0.10 }\nadd element ip6 ${ACCEPT_TABLE} vips { fd00:198:18::9 }\n`,
  );
  assert.equal(
    acceptModeElementsScript('delete', vips.slice(0, 1)),
    `add element ip ${ACCEPT_TABLE} vips { 198.18.0.9 }\ndelete element ip ${ACCEPT_TABLE} vips { 198.18.0.9 }\n`,
  );
  assert.equal(acceptModeElementsScript('add', []), '');
});
