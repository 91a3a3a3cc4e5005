/**
 * enable_script_security's path check on real files: owner and mode of every
 * component, sticky directories, and symlinks (whose own 0777 mode means
 * nothing: /bin -> usr/bin on a merged-/usr Debian must not make /bin/sh unsafe).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, lchownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkScriptSecurity } from '../../../infra/scripts/security.js';

const asRoot = process.getuid?.() === 0;

function tree(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'vipflow-security-'));
  chmodSync(dir, 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const safe = join(dir, 'safe');
  mkdirSync(safe, { mode: 0o755 });
  writeFileSync(join(safe, 'check.sh'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return dir;
}

test(
  'a root-owned script in root-owned, non-writable directories is safe; /bin/sh is, through its symlinks',
  { skip: !asRoot && 'needs root to own the files' },
  (t) => {
    const dir = tree(t);
    const v = checkScriptSecurity(join(dir, 'safe', 'check.sh'));
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.deepEqual(checkScriptSecurity('/bin/sh').ok, true, JSON.stringify(checkScriptSecurity('/bin/sh')));
    assert.deepEqual(checkScriptSecurity('sh', '/usr/bin:/bin').ok, true);
  },
);

test(
  'a symlink to a safe script is judged by its directory and its target, not by its own 0777 mode',
  { skip: !asRoot && 'needs root to own the files' },
  (t) => {
    const dir = tree(t);
    const links = join(dir, 'links');
    mkdirSync(links, { mode: 0o755 });
    symlinkSync(join(dir, 'safe', 'check.sh'), join(links, 'check'));
    assert.equal(checkScriptSecurity(join(links, 'check')).ok, true);
    // The same link in a directory everybody may write (no sticky bit): anyone could replace it.
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    symlinkSync(join(dir, 'safe', 'check.sh'), join(open, 'check'));
    const v = checkScriptSecurity(join(open, 'check'));
    assert.deepEqual(v, { ok: false, file: open, reason: 'writable by everybody' });
    // A link owned by another user is refused even in a safe directory (lchown: the link itself, not its target).
    symlinkSync(join(dir, 'safe', 'check.sh'), join(links, 'theirs'));
    lchownSync(join(links, 'theirs'), 65534, 65534);
    assert.deepEqual(checkScriptSecurity(join(links, 'theirs')), { ok: false, file: join(links, 'theirs'), reason: 'owned by uid 65534, not root' });
  },
);

test('unsafe files and directories are named with the reason', { skip: !asRoot && 'needs root to own the files' }, (t) => {
  const dir = tree(t);
  const script = join(dir, 'safe', 'check.sh');
  chmodSync(script, 0o777);
  assert.deepEqual(checkScriptSecurity(script), { ok: false, file: script, reason: 'writable by everybody' });
  chmodSync(script, 0o775);
  chownSync(script, 0, 65534);
  assert.deepEqual(checkScriptSecurity(script), { ok: false, file: script, reason: 'writable by group 65534' });
  chownSync(script, 65534, 0);
  chmodSync(script, 0o755);
  assert.deepEqual(checkScriptSecurity(script), { ok: false, file: script, reason: 'owned by uid 65534, not root' });
  assert.deepEqual(checkScriptSecurity(join(dir, 'safe', 'missing.sh')).ok, false);
});
