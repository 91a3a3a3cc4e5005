/**
 * vipflow's VRRP packet codec: pure functions from bytes to typed adverts and back.
 * No I/O; decode never throws (typed results), encode throws only on impossible
 * descriptions. See each module for the contract of each function.
 *
 * - decodeVrrp / decodeIpv4Datagram: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798, RFC 9568)
 * - encodeVrrp: the inverse, with the VRRPv3/IPv4 checksum variant as an option
 * - parseIpv4Header / checkIpv4Header: the header a raw IPv4 socket delivers
 * - checkAuthentication / simplePassword / noAuthData: VRRPv2 simple passwords
 * - parse/format/compare helpers for IPv4 and IPv6 addresses
 * - internet checksum pieces, for tests and tools that craft packets
 * - auth_hmac trailers (keepalived 2.4): sign, verify, split, sequences
 * - encodeEchoRequest / decodeIcmp: ICMP and ICMPv6 echo for PING_CHECK
 */
export type {
  ChecksumAcceptance,
  ChecksumVariant,
  DecodeError,
  DecodeErrorKind,
  DecodeOptions,
  DecodeResult,
  EncodeOptions,
  PacketContext,
  VrrpAdvert,
  VrrpV2Advert,
  VrrpV3Advert,
} from './types.js';
export { IPPROTO_VRRP } from './types.js';
export { decodeVrrp, decodeIpv4Datagram, VRRP_HEADER_LENGTH, VRRP_V2_AUTH_LENGTH } from './decode.js';
export type { DatagramErrorKind, DatagramResult } from './decode.js';
export { encodeVrrp } from './encode.js';
export { parseIpv4Header, checkIpv4Header, acceptedIpv4HeaderLength } from './ipv4-header.js';
export type { Ipv4Header, Ipv4HeaderCheck, Ipv4HeaderErrorKind, Ipv4HeaderResult } from './ipv4-header.js';
export { checkAuthentication, simplePassword, noAuthData } from './auth.js';
export type { AuthCheckResult, ExpectedAuth } from './auth.js';
export { parseIPv4, parseIPv6, parseAddress, formatIPv4, formatIPv6, formatAddress, compareAddresses } from './address.js';
export { sumWords, foldSum, pseudoHeaderSum, checksumValue, verifies } from './checksum.js';
export {
  AUTH_HMAC_TRAILER_LENGTH,
  appendAuthTrailer,
  authHmacDigest,
  clockSequence,
  nextSequence,
  ReplayMarks,
  sequenceAfter,
  splitAuthTrailer,
  trailerSequence,
  verifyAuthTrailer,
} from './auth-hmac.js';
export type { AntiReplay, AuthHmacContext, AuthHmacFailure, AuthHmacVerdict, AuthHmacVerifyKeys } from './auth-hmac.js';
export { encodeEchoRequest, decodeIcmp, describeIcmpError } from './icmp-echo.js';
export type { EchoFields, IcmpMessage } from './icmp-echo.js';
