/**
 * Naming on NATS: subjects, stream, KV bucket and keys.
 *
 *   subject  vipflow.<cluster>.<instance|_daemon>.<type>   e.g. vipflow.dc1.VI_1.instance.transition
 *   stream   VIPFLOW_<cluster>     capturing vipflow.<cluster>.>
 *   bucket   vipflow-state-<cluster>
 *   key      <instance>.<node>
 *
 * Instance and node names come from configuration and host names and may hold
 * characters that are special in subjects ('.', '*', '>', spaces) or not allowed in
 * KV keys. They are escaped as `=XX` (hex of each UTF-8 byte) outside [A-Za-z0-9_-],
 * an encoding valid in both places and reversible.
 */
import { instanceOf, type EventType, type VipflowEvent } from './schema.js';

export const DAEMON_TOKEN = '_daemon';

export function encodeToken(s: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `=${b.toString(16).padStart(2, '0').toUpperCase()}`;
  }
  return out;
}

export function decodeToken(t: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '=' && /^[0-9A-F]{2}$/.test(t.slice(i + 1, i + 3))) {
      bytes.push(parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(t.charCodeAt(i));
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

export function subjectFor(event: VipflowEvent): string {
  const inst = instanceOf(event);
  return `vipflow.${event.cluster}.${inst === undefined ? DAEMON_TOKEN : encodeToken(inst)}.${event.type}`;
}

/**
 * The narrowest single subject filter for a selection (nats-server 2.9 takes one
 * filter per consumer): a single type becomes part of the subject, several types
 * are matched by the caller after delivery.
 */
export function subjectFilter(cluster: string, instance?: string, types?: readonly EventType[]): string {
  const inst = instance === undefined ? '*' : encodeToken(instance);
  if (types && types.length === 1) return `vipflow.${cluster}.${inst}.${types[0]}`;
  return `vipflow.${cluster}.${inst}.>`;
}

export const streamName = (cluster: string): string => `VIPFLOW_${cluster}`;
export const streamSubjects = (cluster: string): string => `vipflow.${cluster}.>`;
export const kvBucketName = (cluster: string): string => `vipflow-state-${cluster}`;
export const kvKey = (instance: string, node: string): string => `${encodeToken(instance)}.${encodeToken(node)}`;

/** Whether `subject` falls under the NATS filter `filter` (`*` one token, a final `>` one or more). */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return i === f.length - 1 && s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}
