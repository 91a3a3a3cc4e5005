// Real network: a TCP connection through an LVS-NAT style pair survives the
// failover because conntrackd carried its state. Starts: a namespace lab (client,
// lb1, lb2 and server; an outside bridge, an inside bridge, a dedicated sync veth
// between the LBs), Debian's conntrackd in lb1 and lb2 with
// infra/lb/conntrackd-conf.ts's configuration, socat as the echo server and the
// client. NAT is a plain nftables DNAT rule written here (not vipflow's backend).
// The LBs drop conntrack-invalid packets and have nf_conntrack_tcp_loose off, so a
// mid-stream packet without a synced entry is dropped instead of being picked up
// and NATed afresh: only conntrackd's entry can keep the connection alive.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { createLab, pollUntil, run, sweepStaleLabs, within, type Lab, type SpawnedProcess } from '../../lab/index.js';
import { renderConntrackdConf } from '../../infra/lb/conntrackd-conf.js';
import { conntrackdSyncStep } from '../../notifiers/conntrackd/index.js';
import { defineWorkflow } from '../../workflows/define.js';
import { runWorkflow } from '../../workflows/run.js';
import { zxShell } from '../../workflows/shell.js';
import { collector, setup, transitionTo } from '../workflows/helpers.js';

const logger = silentLogger();
const PREFIX = 'ctsync';
const OUT = 240; // 198.18.240.0/24: client, LB outside addresses, the VIP
const VIP = '198.18.240.100';
const INSIDE_GW = '198.18.241.254';
const SERVER = '198.18.241.4';
const SYNC = { lb1: '198.18.242.1', lb2: '198.18.242.2' } as const;
const LBS = ['lb1', 'lb2'] as const;
type Lb = (typeof LBS)[number];

/** A long-lived socat client: lines written to it come back through the echo server. */
interface Client {
  proc: SpawnedProcess;
  received: () => string;
  errors: () => string;
  send(line: string): void;
}

describe('conntrackd keeps a NATed TCP connection across an LB failover', () => {
  let lab: Lab;
  const conf = (lb: Lb) => join(lab.dir, `conntrackd-${lb}.conf`);

  const sh = async (node: string, script: string, timeoutMs = 5000) => {
    const r = await lab.exec(node, 'sh', ['-c', script], timeoutMs);
    assert.equal(r.code, 0, `${node}: ${script}: ${r.stderr}`);
    return r.stdout;
  };
  /** The kernel's conntrack entry of the client's connection from `port`, or undefined. */
  const kernelEntry = async (lb: Lb, port: number) => {
    const r = await lab.exec(lb, 'conntrack', ['-L', '-p', 'tcp'], 5000);
    return r.stdout.split('\n').find((l) => l.includes(`sport=${port} dport=80 `));
  };
  const externalCache = async (lb: Lb) => (await lab.exec(lb, 'conntrackd', ['-C', conf(lb), '-e'], 5000)).stdout;

  function startClient(): Client {
    const proc = lab.spawn('cli', 'socat', ['-', `TCP:${VIP}:80`], ['pipe', 'pipe', 'pipe']);
    let got = '';
    let errors = '';
    proc.child.stdout!.setEncoding('utf8').on('data', (d: string) => (got += d));
    proc.child.stderr!.setEncoding('utf8').on('data', (d: string) => (errors += d));
    return { proc, received: () => got, errors: () => errors, send: (line) => void proc.child.stdin!.write(`${line}\n`) };
  }
  const echoed = (c: Client, line: string, ms: number) => pollUntil(() => (c.received().includes(`${line}\n`) ? true : undefined), ms, 20);

  /** The client port of the one connection to the VIP on lb1 that is not in `known`. */
  async function newClientPort(known: number[]): Promise<number> {
    const port = await pollUntil(async () => {
      const r = await lab.exec('lb1', 'conntrack', ['-L', '-p', 'tcp', '-d', VIP], 5000);
      const ports = [...r.stdout.matchAll(/sport=(\d+) dport=80 /g)].map((m) => Number(m[1]));
      return ports.find((p) => !known.includes(p));
    }, 3000);
    assert.ok(port !== undefined, 'no conntrack entry for the client on lb1');
    return port;
  }

  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['cli', 'lb1', 'lb2', 'srv'], subnet: OUT, ipv6: false, logger });
    const br = lab.bridgeNs;
    // The inside network: a second bridge; the server leaves the outside one.
    await sh('srv', 'ip link set eth0 down && ip addr flush dev eth0');
    const brExec = (args: string[]) => run('ip', ['-n', br, ...args], 5000);
    assert.equal((await brExec(['link', 'add', 'br1', 'type', 'bridge'])).code, 0);
    assert.equal((await brExec(['link', 'set', 'br1', 'up'])).code, 0);
    const inside: [string, string][] = [
      ['lb1', '198.18.241.2'],
      ['lb2', '198.18.241.3'],
      ['srv', SERVER],
    ];
    for (const [node, address] of inside) {
      const ns = lab.node(node).ns;
      await sh(node, `ip link add in0 type veth peer name i-${node} netns ${br} && ip link set in0 up && ip addr add ${address}/24 dev in0`);
      assert.equal((await brExec(['link', 'set', `i-${node}`, 'master', 'br1', 'up'])).code, 0, ns);
    }
    await sh('srv', `ip route add default via ${INSIDE_GW}`);
    // The dedicated sync link, as in conntrackd's examples.
    await sh('lb1', `ip link add sync0 type veth peer name sync0 netns ${lab.node('lb2').ns}`);
    for (const lb of LBS) {
      await sh(lb, `ip link set sync0 up && ip addr add ${SYNC[lb]}/30 dev sync0 && sysctl -qw net.ipv4.ip_forward=1`);
      const rules = [
        'table ip ctsync {',
        `  chain pre { type nat hook prerouting priority dstnat; ip daddr ${VIP} tcp dport 80 dnat to ${SERVER}:8080; }`,
        '  chain filterfwd { type filter hook forward priority 0; ct state invalid counter drop; }',
        '}',
      ].join('\n');
      const nft = await lab.exec(lb, 'sh', ['-c', 'printf "%s\\n" "$1" | nft -f -', 'nft', rules], 5000);
      assert.equal(nft.code, 0, nft.stderr);
      // Only once nf_conntrack is in use does this namespace have the sysctl.
      await sh(lb, 'sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0');
      writeFileSync(
        conf(lb),
        renderConntrackdConf({
          interface: 'sync0',
          localAddress: SYNC[lb],
          peerAddress: SYNC[lb === 'lb1' ? 'lb2' : 'lb1'],
          controlSocket: join(lab.dir, `${lb}.ctl`),
          lockFile: join(lab.dir, `${lb}.lock`),
          logFile: join(lab.dir, `conntrackd-${lb}.log`),
          ignoreAddresses: [lab.node(lb).ipv4!, lb === 'lb1' ? '198.18.241.2' : '198.18.241.3'],
        }),
      );
      // Console mode (no -d): the lab owns the process and ends it.
      lab.spawn(lb, 'conntrackd', ['-C', conf(lb)]);
    }
    // lb1 is the master: both VIPs (the outside one and the servers' gateway).
    await sh('lb1', `ip addr add ${VIP}/24 dev eth0 && ip addr add ${INSIDE_GW}/24 dev in0`);
    lab.spawn('srv', 'socat', ['TCP-LISTEN:8080,reuseaddr,fork', 'PIPE']);
    for (const lb of LBS) {
      const up = await pollUntil(async () => ((await lab.exec(lb, 'conntrackd', ['-C', conf(lb), '-s'], 2000)).code === 0 ? true : undefined), 5000, 50);
      assert.ok(up, `conntrackd in ${lb} did not answer`);
    }
  });
  after(async () => {
    await lab?.destroy();
  });

  test('the flow replicates to lb2, the MASTER commands commit it with its NAT, and the connection keeps exchanging data through lb2', async (t) => {
    const a = startClient();
    a.send('before 1');
    assert.ok(await echoed(a, 'before 1', 5000), `no echo through lb1: ${a.received()}`);
    const portA = await newClientPort([]);
    const onLb1 = await kernelEntry('lb1', portA);
    assert.match(
      onLb1 ?? '',
      new RegExp(`ESTABLISHED src=198\\.18\\.240\\.1 dst=${VIP} sport=${portA} dport=80 src=${SERVER} dst=198\\.18\\.240\\.1 sport=8080 dport=${portA}`),
    );

    // Replication: lb1's conntrackd sends the flow over sync0 into lb2's external cache.
    const t0 = performance.now();
    const replicated = await pollUntil(async () => ((await externalCache('lb2')).includes(`sport=${portA} dport=80`) ? true : undefined), 5000, 20);
    const replicationMs = Math.round(performance.now() - t0);
    assert.ok(replicated, `flow not in lb2's external cache: ${await externalCache('lb2')}`);
    assert.equal(await kernelEntry('lb2', portA), undefined, "lb2's kernel table must not know the flow before the commit");

    // lb2 becomes MASTER: the notifier's workflow step, as the transition would run it.
    const wrapper = join(lab.dir, 'conntrackd-lb2');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lab.node('lb2').ns} conntrackd "$@"\n`, { mode: 0o755 });
    const { src } = setup();
    const w = defineWorkflow({
      name: 'conntrackd',
      on: { to: ['MASTER', 'BACKUP', 'FAULT'] },
      steps: [conntrackdSyncStep({ binary: wrapper, config: conf('lb2'), lockFile: join(lab.dir, 'lb2.lock') })],
    });
    const run = await runWorkflow(w, transitionTo(src, 'VI_OUTSIDE', 'master'), { runId: 'r1', log: logger, emit: collector().emit, shell: zxShell });
    assert.equal(run.status, 'succeeded', JSON.stringify(run.steps));
    const onLb2 = await kernelEntry('lb2', portA);
    assert.match(
      onLb2 ?? '',
      new RegExp(`ESTABLISHED src=198\\.18\\.240\\.1 dst=${VIP} sport=${portA} dport=80 src=${SERVER} dst=198\\.18\\.240\\.1 sport=8080 dport=${portA}`),
      `lb2: ${onLb2}`,
    );

    // A connection opened after the commit is synced too but never committed: the control.
    const c = startClient();
    c.send('control 1');
    assert.ok(await echoed(c, 'control 1', 5000));
    const portC = await newClientPort([portA]);
    assert.ok(await pollUntil(async () => ((await externalCache('lb2')).includes(`sport=${portC} dport=80`) ? true : undefined), 5000, 20));
    assert.equal(await kernelEntry('lb2', portC), undefined);

    // Failover: lb1 dies (VIPs gone, links down); lb2 takes both VIPs and announces them.
    await sh('lb1', `ip addr del ${VIP}/24 dev eth0; ip addr del ${INSIDE_GW}/24 dev in0; ip link set eth0 down; ip link set in0 down`);
    await sh('lb2', `ip addr add ${VIP}/24 dev eth0 && ip addr add ${INSIDE_GW}/24 dev in0`);
    await sh('lb2', `arping -q -U -c 1 -I eth0 ${VIP}; arping -q -U -c 1 -I in0 ${INSIDE_GW}; true`);
    const t1 = performance.now();
    a.send('after 1');
    c.send('control 2');
    assert.ok(await echoed(a, 'after 1', 8000), `no echo through lb2 after the failover: ${JSON.stringify(a.received())}`);
    const resumeMs = Math.round(performance.now() - t1);
    a.send('after 2');
    assert.ok(await echoed(a, 'after 2', 5000));
    assert.equal(a.received(), 'before 1\nafter 1\nafter 2\n');
    assert.match((await kernelEntry('lb2', portA)) ?? '', /ESTABLISHED/);
    // The uncommitted connection's next packet has no entry on lb2: not NATed, it reaches
    // lb2's own VIP, where no socket listens on port 80: the connection ends there.
    assert.equal(await echoed(c, 'control 2', 1500), undefined, 'the control connection must not survive without a committed entry');
    const exited = await within(c.proc.exited, 3000);
    assert.notEqual(exited, 'timeout', 'the control connection should have ended');
    assert.equal(await kernelEntry('lb2', portC), undefined);
    // lb1 comes back as BACKUP: the real conntrackd takes the BACKUP commands (-s answers, -t, -n), and FAULT's -t.
    const wrapper1 = join(lab.dir, 'conntrackd-lb1');
    writeFileSync(wrapper1, `#!/bin/sh\nexec ip netns exec ${lab.node('lb1').ns} conntrackd "$@"\n`, { mode: 0o755 });
    const w1 = defineWorkflow({
      name: 'conntrackd',
      on: { to: ['MASTER', 'BACKUP', 'FAULT'] },
      steps: [conntrackdSyncStep({ binary: wrapper1, config: conf('lb1'), lockFile: join(lab.dir, 'lb1.lock') })],
    });
    for (const to of ['backup', 'fault'] as const) {
      const r = await runWorkflow(w1, transitionTo(src, 'VI_OUTSIDE', to), { runId: `r-${to}`, log: logger, emit: collector().emit, shell: zxShell });
      assert.equal(r.status, 'succeeded', `${to}: ${JSON.stringify(r.steps)}`);
    }
    t.diagnostic(
      `replication to lb2's external cache ${replicationMs} ms; MASTER step ${Math.round(run.durationMs)} ms; first echo after failover ${resumeMs} ms`,
    );
  });
});
