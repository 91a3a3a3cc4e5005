/**
 * Reads the facts config/host-check.ts judges a config by: the interfaces of
 * this network namespace with their addresses, files by stat(2), and user
 * accounts through the system's name service (getent, so LDAP/sssd users count).
 * Lookups are cached per facts object: one config load asks each once.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import type { FileFact, HostFacts, UserFact } from '../../config/host-check.js';
import { readHostInterfaces } from './interfaces.js';
import type { HostInterfaces } from './types.js';

/** Interfaces as plain data (ADDR/PREFIX per name): what crosses to the configuration worker. */
export function interfaceAddressMap(interfaces: HostInterfaces): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, i] of interfaces) out[name] = i.addresses.map((a) => `${a.address}/${a.prefix}`);
  return out;
}

function fileFact(path: string): FileFact {
  try {
    const st = statSync(path);
    return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, isFile: st.isFile() };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { missing: code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? String(err)) };
  }
}

function run(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

function userFact(name: string): UserFact | undefined {
  // getent exits 2 for an unknown name; `--` keeps a name starting with '-' a name.
  const line = run('getent', ['passwd', '--', name])?.split('\n')[0];
  const fields = line?.split(':');
  if (!fields || fields.length < 4) return undefined;
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
  const groups = (run('id', ['-G', '--', name]) ?? '')
    .trim()
    .split(/\s+/)
    .map(Number)
    .filter((g) => Number.isInteger(g));
  return { uid, gid, groups };
}

function cached<T>(read: (key: string) => T): (key: string) => T {
  const seen = new Map<string, T>();
  return (key) => {
    if (!seen.has(key)) seen.set(key, read(key));
    return seen.get(key) as T;
  };
}

/** Host facts around interfaces already read (the configuration worker gets those from the daemon). */
export function hostFactsFrom(interfaces: Readonly<Record<string, readonly string[]>>): HostFacts {
  return { interfaces, file: cached(fileFact), user: cached(userFact) };
}

/** The facts of the host (network namespace) this process runs in. */
export function readHostFacts(interfaces: HostInterfaces = readHostInterfaces()): HostFacts {
  return hostFactsFrom(interfaceAddressMap(interfaces));
}
