/**
 * Word-valued keywords with a bad word: keepalived 2.2.7 logs it and carries
 * on (check_true_false callers, svr_forwarding_handler, proto_handler), and so
 * does vipflow, with a warning and keepalived's outcome in the model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadKeepalivedText } from '../../config/keepalived/index.js';

const instance = (extra: string): string => `vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 7
    priority 100
${extra}
    virtual_ipaddress {
        198.18.0.7/24
    }
}
`;

const server = (vs: string, rs = ''): string => `virtual_server 198.18.0.7 80 {
    lb_algo rr
${vs}
    real_server 198.18.1.10 80 {
${rs}
        TCP_CHECK {
        }
    }
}
`;

function load(text: string) {
  const r = loadKeepalivedText(text);
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.ok(r.model, 'the config loads');
  return { model: r.model, warnings: r.diagnostics.filter((d) => d.severity === 'warning') };
}

test('a bad boolean is ignored with a warning; the earlier setting stays', () => {
  const { model, warnings } = load(instance('    smtp_alert on\n    smtp_alert maybe'));
  assert.equal(model.vrrpInstances[0]!.smtpAlert, true);
  const w = warnings.find((d) => d.message.startsWith("'smtp_alert maybe'"));
  assert.ok(w, JSON.stringify(warnings));
  assert.equal(w.line, 7);
  assert.match(w.message, /ignored, the earlier or default setting stays/);
});

test('booleans are case-sensitive, as check_true_false compares', () => {
  const { model, warnings } = load(instance('    smtp_alert YES'));
  assert.notEqual(model.vrrpInstances[0]!.smtpAlert, true);
  assert.ok(warnings.some((d) => d.message.startsWith("'smtp_alert YES' is not on|off")));
});

test('a bool keyword alone or with a good word still sets it', () => {
  assert.equal(load(instance('    smtp_alert')).model.vrrpInstances[0]!.smtpAlert, true);
  assert.equal(load(instance('    smtp_alert off')).model.vrrpInstances[0]!.smtpAlert, false);
});

test('an unknown or lower-case lb_kind is ignored: NAT stays', () => {
  for (const kind of ['XX', 'dr']) {
    const { model, warnings } = load(server(`    lb_kind ${kind}\n    protocol TCP`));
    assert.equal(model.virtualServers[0]!.lbKind, 'NAT');
    assert.ok(warnings.some((d) => d.message.includes(`'lb_kind ${kind}' is not NAT|DR|TUN; ignored, the default NAT stays`)));
  }
  assert.equal(load(server('    lb_kind DR\n    protocol TCP')).model.virtualServers[0]!.lbKind, 'DR');
});

test("a bad real_server lvs_method is ignored: the virtual server's method applies", () => {
  const { model, warnings } = load(server('    lb_kind DR\n    protocol TCP', '        lvs_method tun'));
  assert.equal(model.virtualServers[0]!.realServers[0]!.lvsMethod, undefined);
  assert.ok(warnings.some((d) => d.message.includes("'lvs_method tun'") && d.message.includes('PARSER : unknown [tun] routing method for real server.')));
});

test('protocol: any case is accepted; an unknown one leaves keepalived with UDP', () => {
  assert.equal(load(server('    protocol sctp')).model.virtualServers[0]!.protocol, 'SCTP');
  const { model, warnings } = load(server('    protocol FOO'));
  assert.equal(model.virtualServers[0]!.protocol, 'UDP');
  assert.ok(
    warnings.some(
      (d) => d.message.includes("'protocol FOO' is not TCP|UDP|SCTP; ignored, UDP is used") && d.message.includes('Unknown protocol FOO - ignoring'),
    ),
  );
});
