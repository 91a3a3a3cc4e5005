// Real network: the raw VRRP socket's life cycle inside a lab namespace:
// descriptor hygiene over many open/close cycles, errors at open time, and
// exceptions from packet handlers. Starts: a namespace lab, a child Node process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../core/logger.js';
import { repoRoot } from '../../core/paths.js';
import { createLab, sweepStaleLabs, within, type Lab } from '../../lab/index.js';
import { Worker } from 'node:worker_threads';
import { openVrrpSocket } from '../../wire/socket/index.js';
import { nativeAddonPath } from '../../wire/socket/native.js';

const logger = silentLogger();
const PREFIX = 'vfsklc';
const openFds = () => readdirSync('/proc/self/fd').length;
/** Inodes of the sockets this process holds (a worker's own loop descriptors, epoll and eventfd, are not sockets). */
const socketInodes = (): Set<string> =>
  new Set(
    readdirSync('/proc/self/fd').flatMap((fd) => {
      try {
        const link = readlinkSync(`/proc/self/fd/${fd}`);
        return link.startsWith('socket:') ? [link] : [];
      } catch {
        return [];
      }
    }),
  );
const turn = () => new Promise((r) => setImmediate(r));

describe('raw VRRP socket life cycle', () => {
  let lab: Lab;
  before(async () => {
    await sweepStaleLabs(PREFIX, logger);
    lab = await createLab({ prefix: PREFIX, nodes: ['n1'], subnet: 24, logger });
  });
  after(async () => {
    await lab?.destroy();
  });

  test('1,000 open/close cycles leave no file descriptor behind', async () => {
    const ns = lab.node('n1').ns;
    // Warm up: the first open loads the addon and may open lasting descriptors.
    const first = openVrrpSocket({ family: 4, interface: 'eth0', netns: ns, mode: 'multicast', logger });
    assert.ok(first.ok);
    first.value.close();
    await turn();
    const before = openFds();
    let peak = 0;
    for (let i = 0; i < 1000; i++) {
      const r = openVrrpSocket({ family: i % 2 ? 6 : 4, interface: 'eth0', netns: ns, mode: i % 3 ? 'multicast' : 'unicast', logger });
      assert.ok(r.ok);
      if (i % 100 === 0) peak = Math.max(peak, openFds());
      r.value.close();
      r.value.close(); // idempotent
      if (i % 50 === 49) await turn(); // let libuv run the close callbacks that close the fds
    }
    await turn();
    await turn();
    assert.ok(peak > before, 'an open socket holds a descriptor (the count is meaningful)');
    // Other descriptors of the process (test runner, pipes) may close meanwhile, never open by 1,000.
    assert.ok(openFds() <= before, `${openFds()} descriptors after, ${before} before`);
  });

  test('open errors are values with errno names', () => {
    const ns = lab.node('n1').ns;
    const noIf = openVrrpSocket({ family: 4, interface: 'nope0', netns: ns, mode: 'multicast', logger });
    assert.equal(noIf.ok ? 'ok' : noIf.code, 'ENODEV');
    const noNs = openVrrpSocket({ family: 6, interface: 'eth0', netns: `${PREFIX}-missing`, mode: 'multicast', logger });
    assert.equal(noNs.ok ? 'ok' : noNs.code, 'ENOENT');
    const closed = openVrrpSocket({ family: 4, interface: 'eth0', netns: ns, mode: 'multicast', logger });
    assert.ok(closed.ok);
    closed.value.close();
    const r = closed.value.send(Buffer.from('x'));
    assert.equal(r.ok ? 'ok' : r.code, 'EBADF');
  });

  test('a worker thread that ends with sockets still open exits cleanly', async () => {
    // Plain CommonJS in the worker: it loads the addon directly, so the test
    // does not depend on how TypeScript is being run.
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      const wire = require(workerData.addon);
      for (let i = 0; i < 10; i++) {
        wire.rawOpen({ family: i % 2 ? 6 : 4, ifname: 'eth0', netns: workerData.ns, multicast: true, hops: 255, rcvbuf: 0, kernelChecksum: false }, () => {});
      }
      parentPort.once('message', () => process.exit(0));
      setTimeout(() => process.exit(0), 5000);
      parentPort.postMessage('open');`;
    const worker = new Worker(code, { eval: true, workerData: { addon: nativeAddonPath(), ns: lab.node('n1').ns } });
    const before = socketInodes();
    const message = await new Promise((r) => worker.once('message', r));
    assert.equal(message, 'open');
    const opened = [...socketInodes()].filter((s) => !before.has(s));
    assert.ok(opened.length >= 10, 'the worker holds its sockets');
    worker.postMessage('exit');
    const exit = await within(new Promise((r) => worker.once('exit', r)), 5000);
    assert.equal(exit, 0);
    await turn();
    const still = socketInodes();
    assert.deepEqual(
      opened.filter((s) => still.has(s)),
      [],
      'the worker closed its sockets on exit',
    );
  });

  test('an exception thrown by a packet handler is not swallowed', async () => {
    const here = fileURLToPath(import.meta.url);
    const fromSource = here.endsWith('.ts');
    const fixture = here.replace(/socket-lifecycle\.test\.(ts|js)$/, `fixtures/throwing-handler.${fromSource ? 'ts' : 'js'}`);
    const child = spawn(process.execPath, [...(fromSource ? ['--import', 'tsx'] : []), fixture, 'vfskth'], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await within(new Promise<number | null>((r) => child.once('exit', (c) => r(c))), 20_000);
    child.kill('SIGKILL');
    await sweepStaleLabs('vfskth', logger);
    assert.equal(code, 1, `exit code (stderr: ${err.slice(0, 300)})`);
    assert.match(err, /handler boom/);
  });
});
