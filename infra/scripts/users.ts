/**
 * Resolves script_user / group names to numeric ids. Node has no
 * getpwnam, so /etc/passwd and /etc/group are read (NSS sources such as
 * LDAP are not consulted: a gap worth knowing on such hosts).
 */
import { readFileSync } from 'node:fs';

export interface UserIds {
  uid: number;
  gid: number;
  user: string;
}

export type UserResult = { ok: true; ids: UserIds } | { ok: false; message: string };

function table(path: string): string[][] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/**
 * A user's uid and primary gid, or `group`'s gid when given (keepalived's
 * `script_user USER [GROUP]`). Numeric names are taken as ids.
 */
export function resolveUser(user: string, group?: string, files = { passwd: '/etc/passwd', group: '/etc/group' }): UserResult {
  const row = table(files.passwd).find((r) => r[0] === user) ?? (/^\d+$/.test(user) ? table(files.passwd).find((r) => r[2] === user) : undefined);
  let uid: number;
  let gid: number;
  if (row) {
    uid = Number(row[2]);
    gid = Number(row[3]);
  } else if (/^\d+$/.test(user)) {
    uid = Number(user);
    gid = uid;
  } else return { ok: false, message: `script user '${user}' does not exist` };
  if (group !== undefined) {
    const g = table(files.group).find((r) => r[0] === group);
    if (g) gid = Number(g[2]);
    else if (/^\d+$/.test(group)) gid = Number(group);
    else return { ok: false, message: `script group '${group}' does not exist` };
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return { ok: false, message: `bad ids for script user '${user}'` };
  return { ok: true, ids: { uid, gid, user: row?.[0] ?? user } };
}
