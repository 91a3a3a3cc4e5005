/**
 * What a DNS UPDATE response means for the operator: the response code (RFC 2136
 * section 2.2, RFC 1035) and the TSIG error (RFC 8945 section 5.3) turned into one
 * sentence that says what failed and what to check. Pure.
 */

const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
  22: 'BADTRUNC',
};

/** The mnemonic of a response code or TSIG error (`RCODE42` for an unknown one). */
export function rcodeName(code: number): string {
  return RCODE_NAMES[code] ?? `RCODE${code}`;
}

export type UpdateFailureKind = 'tsig' | 'notauth' | 'refused' | 'notzone' | 'server';

export interface UpdateFailure {
  kind: UpdateFailureKind;
  message: string;
}

/** What the update was, for the messages. */
export interface UpdateDescription {
  server: string;
  zone: string;
  name: string;
  keyName: string;
  algorithm: string;
}

/**
 * The failure a response reports, or undefined for success (NOERROR, no TSIG error).
 * A TSIG error wins over the header code: servers answer a bad signature with NOTAUTH
 * and put the reason (BADSIG, BADKEY, BADTIME) in the TSIG record.
 */
export function updateFailure(rcode: number, tsigError: number, d: UpdateDescription): UpdateFailure | undefined {
  const what = `DNS update of '${d.name}' in zone '${d.zone}' at ${d.server}`;
  const keyHint = `check the key name ('${d.keyName}'), secret and algorithm (${d.algorithm}) against the server's key statement`;
  if (tsigError !== 0) {
    const code = rcodeName(tsigError);
    const why =
      tsigError === 16
        ? 'the server rejected the signature'
        : tsigError === 17
          ? `the server does not know key '${d.keyName}' with algorithm ${d.algorithm}`
          : tsigError === 18
            ? 'the clocks of this node and the server differ by more than the TSIG fudge (300 s); check NTP, and'
            : 'the server rejected the TSIG record';
    return { kind: 'tsig', message: `${what} failed: TSIG ${code} (${rcodeName(rcode)}): ${why}; ${keyHint}` };
  }
  switch (rcode) {
    case 0:
      return undefined;
    case 9:
      return {
        kind: 'notauth',
        message: `${what} failed: NOTAUTH: the server is not authoritative (primary) for the zone, or did not accept the TSIG signature; check the zone name and server, and ${keyHint}`,
      };
    case 5:
      return {
        kind: 'refused',
        message: `${what} failed: REFUSED: check that the zone's allow-update / update-policy lets key '${d.keyName}' change '${d.name}' and these record types`,
      };
    case 10:
      return { kind: 'notzone', message: `${what} failed: NOTZONE: the name is not inside the zone` };
    case 2:
      return { kind: 'server', message: `${what} failed: SERVFAIL: the server could not apply it; check its log (zone loaded? journal writable?)` };
    case 4:
      return { kind: 'server', message: `${what} failed: NOTIMP: the server does not support dynamic update` };
    default:
      return { kind: 'server', message: `${what} failed: ${rcodeName(rcode)}` };
  }
}
