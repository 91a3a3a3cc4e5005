/**
 * node:crypto, loaded at its first use. The modules that need it (auth_hmac,
 * the HTTP endpoint's credentials) are on every daemon's import path, and a
 * daemon that uses neither would otherwise load OpenSSL's code and some
 * fifteen modules for nothing: 2.3 MiB of RSS in a bare node, about 0.3 MiB
 * in the daemon, which touches most of those pages anyway
 * (test/daemon/lazy-imports.test.ts checks that a plain daemon does not load it).
 */
import type * as NodeCrypto from 'node:crypto';
import { createRequire } from 'node:module';

let loaded: typeof NodeCrypto | null = null;

export function nodeCrypto(): typeof NodeCrypto {
  return (loaded ??= createRequire(import.meta.url)('node:crypto') as typeof NodeCrypto);
}
