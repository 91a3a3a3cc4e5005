/**
 * The verification query: asks one server directly (no system resolver, no cache) for
 * a name's A or AAAA records. node:dns's Resolver is c-ares, which Node ships, so no
 * dependency; a fresh Resolver per query means no answer can come from a cache.
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { RecordType } from './message.js';

export type LookupResult = { ok: true; addresses: string[] } | { ok: false; message: string };

/**
 * The addresses `server`:`port` returns for `name`/`type`; no such name or no records
 * of the type is an empty list. Never rejects; an abort of `signal` cancels the query.
 */
export async function lookupAddresses(
  server: string,
  port: number,
  name: string,
  type: RecordType,
  o: { timeoutMs: number; signal?: AbortSignal },
): Promise<LookupResult> {
  const where = `${isIP(server) === 6 ? `[${server}]` : server}:${port}`;
  const resolver = new Resolver({ timeout: o.timeoutMs, tries: 1 });
  resolver.setServers([where]);
  const onAbort = () => resolver.cancel();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const addresses = type === 'A' ? await resolver.resolve4(name) : await resolver.resolve6(name);
    return { ok: true, addresses };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return { ok: true, addresses: [] };
    return { ok: false, message: `querying ${where} for ${name} ${type} failed: ${code ?? String(e)}` };
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}
