/** conntrackd.conf rendering (the lab test, test/lab/conntrack-sync.test.ts, runs Debian's conntrackd on it). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderConntrackdConf } from '../../../infra/lb/conntrackd-conf.js';

test('FTFW over UDP on the dedicated link, own control socket and lock file, own addresses ignored', () => {
  const text = renderConntrackdConf({
    interface: 'sync0',
    localAddress: '198.18.2.1',
    peerAddress: '198.18.2.2',
    controlSocket: '/run/ct-a.ctl',
    lockFile: '/run/ct-a.lock',
    logFile: '/var/log/ct-a.log',
    ignoreAddresses: ['198.18.0.2', 'fd00:198:18::2'],
  });
  assert.match(text, /\tMode FTFW \{\n\t\tDisableExternalCache Off\n/);
  assert.match(text, /\tUDP \{\n\t\tIPv4_address 198\.18\.2\.1\n\t\tIPv4_Destination_Address 198\.18\.2\.2\n\t\tPort 3780\n\t\tInterface sync0\n/);
  assert.match(text, /\tLogFile \/var\/log\/ct-a\.log\n\tSyslog off\n\tLockFile \/run\/ct-a\.lock\n\tUNIX \{\n\t\tPath \/run\/ct-a\.ctl\n/);
  assert.match(text, /\t\tProtocol Accept \{\n\t\t\tTCP\n\t\t\tSCTP\n\t\t\}/);
  assert.match(
    text,
    /\t\tAddress Ignore \{\n\t\t\tIPv4_address 127\.0\.0\.1\n\t\t\tIPv6_address ::1\n\t\t\tIPv4_address 198\.18\.2\.1\n\t\t\tIPv4_address 198\.18\.2\.2\n\t\t\tIPv4_address 198\.18\.0\.2\n\t\t\tIPv6_address fd00:198:18::2\n\t\t\}/,
  );
  // Braces balance: conntrackd's parser refuses the file otherwise.
  assert.equal((text.match(/\{/g) ?? []).length, (text.match(/\}/g) ?? []).length);
});

test('IPv6 sync link, defaults as in the Debian example; mixed families refused', () => {
  const text = renderConntrackdConf({ interface: 'eth2', localAddress: 'fd00:198:18:2::1', peerAddress: 'fd00:198:18:2::2' });
  assert.match(text, /IPv6_address fd00:198:18:2::1\n\t\tIPv6_Destination_Address fd00:198:18:2::2\n/);
  assert.match(text, /LockFile \/var\/lock\/conntrack\.lock/);
  assert.match(text, /Path \/var\/run\/conntrackd\.ctl/);
  assert.match(text, /LogFile off\n\tSyslog on/);
  assert.throws(() => renderConntrackdConf({ interface: 'eth2', localAddress: '198.18.2.1', peerAddress: 'fd00::2' }), /one family/);
});
