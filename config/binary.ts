/**
 * Telling a binary file from a text config before parsing it: given
 * /usr/sbin/keepalived by mistake (or an include pattern that matches one),
 * the reader would report hundreds of "unknown keyword" lines for what is
 * one mistake.
 */

/** Characters a text config may contain below 0x20: tab, line feed, vertical tab, form feed, carriage return, escape. */
const TEXT_CONTROLS = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b]);

/**
 * Whether text read from a file (as UTF-8) is a binary file's: more than one
 * character in ten of its first 8 KiB a NUL, another control character or an
 * invalid byte (U+FFFD). A stray NUL in a text file is the reader's to report
 * on its line, so one alone does not make a file binary.
 */
export function looksBinary(text: string): boolean {
  const sample = text.slice(0, 8192);
  let odd = 0;
  for (let k = 0; k < sample.length; k++) {
    const c = sample.charCodeAt(k);
    if ((c < 0x20 && !TEXT_CONTROLS.has(c)) || c === 0xfffd) odd++;
  }
  return sample.length > 0 && odd * 10 > sample.length;
}
