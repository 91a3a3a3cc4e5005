/**
 * A few random bytes without loading node:crypto (see lazy-crypto.ts). A hash
 * seed and a boot id are all a plain daemon wants of it: the kernel's
 * /dev/urandom gives the same randomness for one open and one read. Where
 * that device cannot be read, node:crypto is loaded after all.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { nodeCrypto } from './lazy-crypto.js';

export function randomBytesLight(n: number): Buffer {
  const out = Buffer.alloc(n);
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      // urandom fills small reads whole; the bound only guards against a device that does not.
      for (let got = 0, tries = 0; got < n; tries++) {
        if (tries > n) throw new Error('short reads from /dev/urandom');
        got += readSync(fd, out, got, n - got, null);
      }
    } finally {
      closeSync(fd);
    }
    return out;
  } catch {
    return nodeCrypto().randomBytes(n);
  }
}

/** A random integer in [0, 2^31 - 1). */
export function randomSeed31(): number {
  return randomBytesLight(4).readUInt32LE(0) % 0x7fffffff;
}
