/**
 * The HTTP endpoint's listen address (`--http ADDR:PORT`, `vipflow.http.listen`):
 * parsed here, in config/, so that the typed config and the command line refuse
 * the same strings with the same words. Pure.
 */
import { ipFamily } from './net.js';

export interface ListenAddress {
  /** An IP address literal, without brackets. */
  host: string;
  port: number;
}

/**
 * Parses `198.18.0.1:9650`, `[fd00::1]:9650`, `localhost:9650` or `:9650`
 * (all addresses). Host names other than localhost are refused: a name that
 * resolves elsewhere later would silently move the endpoint.
 * @returns the address, or a message saying what is wrong.
 */
export function parseListenAddress(text: string): ListenAddress | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return `'${text}' is not ADDR:PORT (IPv6 in brackets: [::1]:9650)`;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `port ${m[3]} is not 1-65535`;
  const raw = m[1] ?? m[2] ?? '';
  const host = raw === '' ? '::' : raw === 'localhost' ? '127.0.0.1' : raw;
  if (ipFamily(host) === undefined) return `'${raw}' is not an IP address (or localhost)`;
  if (m[2] !== undefined && raw !== '' && ipFamily(host) === 6) return `IPv6 addresses go in brackets: [${raw}]:${port}`;
  return { host, port };
}

/** Only these need no credentials: nobody off the host reaches them. */
export function isLoopbackHost(host: string): boolean {
  if (host === '::1') return true;
  if (ipFamily(host) === 4) return host.startsWith('127.');
  // ::ffff:127.x.y.z is loopback too, written the IPv4-mapped way.
  return /^::ffff:127\./i.test(host);
}

/** Formats the address back, with brackets for IPv6 (for logs and URLs). */
export function formatListenAddress(a: ListenAddress): string {
  return ipFamily(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
