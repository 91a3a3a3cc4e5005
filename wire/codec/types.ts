/**
 * Typed VRRP advertisements as the codec sees them. Addresses are raw network-order
 * bytes (4 for IPv4, 16 for IPv6): the daemon compares them far more often than it
 * prints them, so text conversion is left to the helpers in address.ts.
 *
 * The address family is not carried in the VRRP message itself (RFC 5798 §5.1: it is
 * implied by the IP layer), so it comes from the {@link PacketContext}.
 */

/** A VRRPv2 advertisement (RFC 3768), IPv4 only. */
export interface VrrpV2Advert {
  readonly version: 2;
  /** Virtual Router Identifier, 1..255. */
  readonly vrid: number;
  /** 0..255; 0 means the master is giving up (RFC 3768 §6.4.3), 255 the address owner. */
  readonly priority: number;
  /** Advertisement interval in whole seconds, 1..255. */
  readonly advertIntervalSec: number;
  /** Auth Type 0 (none) or 1 (simple text password, RFC 2338 §5.3.6.1). */
  readonly authType: 'none' | 'simple';
  /**
   * The 8 Authentication Data bytes exactly as on the wire (a NUL-padded password for
   * 'simple', normally zeros for 'none'). Kept raw so that re-encoding is byte-exact.
   */
  readonly authData: Uint8Array;
  /** IPv4 addresses, 4 bytes each; at most 255. */
  readonly addresses: readonly Uint8Array[];
}

/** A VRRPv3 advertisement (RFC 5798 as updated by RFC 9568), IPv4 or IPv6. */
export interface VrrpV3Advert {
  readonly version: 3;
  readonly vrid: number;
  readonly priority: number;
  /** Max Adver Int in centiseconds, 1..4095 (12 bits). */
  readonly maxAdvertIntervalCs: number;
  /** Addresses of the context's family (4 or 16 bytes each); at most 255. */
  readonly addresses: readonly Uint8Array[];
}

export type VrrpAdvert = VrrpV2Advert | VrrpV3Advert;

/**
 * The IP-layer facts the VRRP message depends on: its family (from the address
 * length) and, for the VRRPv3 pseudo-header checksum, the source and the real
 * destination (the multicast group, or the peer's address for unicast).
 */
export interface PacketContext {
  /** 4 or 16 bytes. */
  readonly source: Uint8Array;
  /** Same length as source. */
  readonly destination: Uint8Array;
}

/**
 * How a VRRPv3-over-IPv4 checksum was computed. RFC 5798 §5.2.8 includes the IPv4
 * pseudo-header (keepalived and FRR by default); RFC 9568 and Cisco/Juniper cover the
 * VRRP message only (keepalived's `v3_checksum_as_v2`). VRRPv2 is always
 * 'without-pseudo-header', VRRPv3 over IPv6 always 'with-pseudo-header'.
 */
export type ChecksumVariant = 'with-pseudo-header' | 'without-pseudo-header';

export type DecodeErrorKind =
  /** Fewer than the 8 fixed header bytes. */
  | 'short-buffer'
  /** Version nibble is neither 2 nor 3. */
  | 'bad-version'
  /** Type nibble is not 1 (ADVERTISEMENT), the only type defined. */
  | 'bad-type'
  /** The context is not a 4- or 16-byte address pair, or VRRPv2 arrived over IPv6. */
  | 'family-mismatch'
  /** The buffer length differs from what Count IPvX Addr (and v2 auth data) imply. */
  | 'address-count-mismatch'
  /** The checksum matches no accepted variant. */
  | 'bad-checksum'
  /** VRID 0 is not a valid virtual router. */
  | 'vrid-zero'
  /** Advertisement interval 0. */
  | 'bad-interval'
  /** VRRPv2 Auth Type 2 (IP Authentication Header): obsolete since RFC 3768. */
  | 'unsupported-auth-type'
  /** VRRPv2 Auth Type other than 0, 1 or 2. */
  | 'unknown-auth-type';

export interface DecodeError {
  readonly kind: DecodeErrorKind;
  /** One line for a log: what was found and what was expected. */
  readonly detail: string;
}

export type DecodeResult =
  { readonly ok: true; readonly packet: VrrpAdvert; readonly checksumVariant: ChecksumVariant } | { readonly ok: false; readonly error: DecodeError };

/** Which checksum variants decode accepts for VRRPv3 over IPv4. */
export type ChecksumAcceptance = ChecksumVariant | 'either';

export interface DecodeOptions {
  /**
   * VRRPv3/IPv4 only; default 'either'. Accepting either variant costs a little
   * error detection: a single-bit error can turn a pseudo-header packet into a valid
   * no-pseudo-header one when the pseudo-header's sum equals ±2^k (mod 0xffff), so a
   * caller that has learnt its peer's variant can pin it.
   */
  readonly checksum?: ChecksumAcceptance;
  /**
   * Bytes of an auth_hmac trailer at the end of the buffer (0 or 28; default 0):
   * the message is decoded without them, and the IPv6 checksum covers them.
   */
  readonly authTrailerLength?: number;
}

export interface EncodeOptions {
  /** VRRPv3/IPv4 only (ignored otherwise); default 'with-pseudo-header' like keepalived. */
  readonly checksumVariant?: ChecksumVariant;
}

/** The IANA protocol number of VRRP, also the pseudo-header's next header. */
export const IPPROTO_VRRP = 112;
