/**
 * IPv4/IPv6 text <-> bytes, pure and strict. Parsers return undefined rather than
 * throwing, because their input is configuration or CLI text. IPv6 output is the
 * canonical form of RFC 5952, so that logs and events compare as strings.
 */

/** Dotted-quad IPv4 ("198.18.0.1") to 4 bytes; undefined unless exactly four decimal octets 0..255 without leading zeros. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  return parseIPv4Into(text, 0, text.length, out, 0) ? out : undefined;
}

function parseIPv4Into(text: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? text.charCodeAt(i) : 46; /* '.' closes the last octet */
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // A leading zero is refused: some parsers read "010" as octal, so it is ambiguous.
      if (digits === 1 && value === 0) return false;
      value = value * 10 + (c - 48);
      if (value > 255) return false;
      digits++;
    } else {
      return false;
    }
  }
  return part === 4;
}

/**
 * IPv6 text (RFC 4291 §2.2: hex groups, one "::", an optional dotted-quad tail) to 16
 * bytes; undefined otherwise. Zone identifiers ("%eth0") are refused: a scope is an
 * interface property in vipflow, not part of an address.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  const n = text.length;
  if (n < 2 || n > 45) return undefined;
  const groups: number[] = [];
  let gapAt = -1;
  let i = 0;
  if (text.startsWith('::')) {
    gapAt = 0;
    i = 2;
    if (i === n) return out;
  } else if (text.charCodeAt(0) === 58) {
    return undefined;
  }
  let tail4 = false;
  while (i < n) {
    let j = i;
    let value = 0;
    while (j < n && j - i < 5) {
      const h = hexValue(text.charCodeAt(j));
      if (h < 0) break;
      value = value * 16 + h;
      j++;
    }
    if (j < n && text.charCodeAt(j) === 46) {
      // Embedded IPv4 takes the last 32 bits (e.g. ::ffff:198.18.0.1).
      if (groups.length > 6 || !parseIPv4Into(text, i, n, out, 12)) return undefined;
      tail4 = true;
      break;
    }
    if (j === i || j - i > 4) return undefined;
    groups.push(value);
    if (j === n) break;
    if (text.charCodeAt(j) !== 58) return undefined;
    if (j + 1 < n && text.charCodeAt(j + 1) === 58) {
      if (gapAt >= 0) return undefined;
      gapAt = groups.length;
      i = j + 2;
    } else {
      i = j + 1;
      if (i === n) return undefined; /* trailing single ':' */
    }
  }
  const slots = tail4 ? 6 : 8;
  if (gapAt < 0 ? groups.length !== slots : groups.length >= slots) return undefined;
  const tailStart = gapAt < 0 ? groups.length : slots - (groups.length - gapAt);
  for (let g = 0; g < groups.length; g++) {
    const slot = gapAt >= 0 && g >= gapAt ? tailStart + (g - gapAt) : g;
    out[slot * 2] = groups[g]! >> 8;
    out[slot * 2 + 1] = groups[g]! & 0xff;
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** Either family: IPv4 text to 4 bytes, IPv6 text to 16 bytes, anything else undefined. */
export function parseAddress(text: string): Uint8Array | undefined {
  return text.includes(':') ? parseIPv6(text) : parseIPv4(text);
}

/** 4 bytes to dotted quad. Precondition: bytes.length === 4. */
export function formatIPv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/**
 * 16 bytes to RFC 5952 text: lowercase, no leading zeros, the longest run of two or
 * more zero groups (the first on a tie) as "::", and IPv4-mapped addresses with a
 * dotted-quad tail (§5). Precondition: bytes.length === 16.
 */
export function formatIPv6(bytes: Uint8Array): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let g = 0; g < 8;) {
    if (bytes[g * 2] === 0 && bytes[g * 2 + 1] === 0) {
      let e = g;
      while (e < 8 && bytes[e * 2] === 0 && bytes[e * 2 + 1] === 0) e++;
      if (e - g > bestLen) {
        bestStart = g;
        bestLen = e - g;
      }
      g = e;
    } else {
      g++;
    }
  }
  const mapped = bestStart === 0 && bestLen === 5 && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  let out = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      out += '::';
      g += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += ((bytes[g * 2]! << 8) | bytes[g * 2 + 1]!).toString(16);
  }
  return out;
}

/** 4 or 16 bytes to text; any other length is reported as "<invalid address: N bytes>" (for logs, never throws). */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIPv4(bytes);
  if (bytes.length === 16) return formatIPv6(bytes);
  return `<invalid address: ${bytes.length} bytes>`;
}

/**
 * Orders addresses as unsigned big-endian integers, the comparison RFC 5798 §6.4.3
 * uses to break a tie between equal priorities (the higher primary address wins).
 * Returns -1, 0 or 1. A shorter address sorts before a longer one, so mixed lists
 * still get a total order.
 */
export function compareAddresses(a: Uint8Array, b: Uint8Array): -1 | 0 | 1 {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
