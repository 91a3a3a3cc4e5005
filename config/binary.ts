/**
 * Telling a binary file from a text config before parsing it: given
 * /usr/sbin/keepalived by mistake, the reader would report hundreds of
 * "unknown keyword" lines for what is one mistake.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** Bytes a text config may contain below 0x20: tab, line feed, vertical tab, form feed, carriage return, escape. */
const TEXT_CONTROLS = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b]);

/** A NUL byte, or more than one control byte in ten, in the sample: what `file` and git call binary. */
export function looksBinary(sample: Uint8Array): boolean {
  let controls = 0;
  for (const b of sample) {
    if (b === 0) return true;
    if (b < 0x20 && !TEXT_CONTROLS.has(b)) controls++;
  }
  return sample.length > 0 && controls * 10 > sample.length;
}

/** Whether the start of the file (8 KiB) looks binary; false when it cannot be read (the reader reports that). */
export function isBinaryFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = new Uint8Array(8192);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return looksBinary(buf.subarray(0, n));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
