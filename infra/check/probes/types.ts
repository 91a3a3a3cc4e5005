/**
 * What every checker probe returns: the I/O half of keepalived's checkers
 * (TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, PING_CHECK, DNS_CHECK, SMTP_CHECK, UDP_CHECK). A probe is one check against one
 * real server; rise/fall, retry and weights are decided by whoever calls it.
 *
 * A probe never throws and never runs unbounded: it honours its abort signal,
 * the connect timeout (keepalived's connect_timeout, used by keepalived both for
 * the connection and for every read that follows) and an overall deadline.
 */

export type ProbeFailureReason =
  /** the connection was refused (RST), or an ICMP port unreachable answered a datagram */
  | 'refused'
  /** connect, TLS handshake, a read or the whole probe took too long */
  | 'timeout'
  /** another connect error (unreachable, bind failed, reset, ...) */
  | 'connect'
  /** PING_CHECK: an ICMP error answered the echo request (host or network unreachable, prohibited, TTL exceeded), or no route */
  | 'unreachable'
  /** TLS handshake or record error */
  | 'tls'
  /** the HTTP status code is not one of the url's status_code */
  | 'status'
  /** MD5 of the body differs from the url's digest */
  | 'digest'
  /** regex did not match (or did, with regex_no_match) */
  | 'regex'
  /** not the protocol spoken: no end of HTTP headers, a body over the cap, an SMTP line too long, the peer closed without a response */
  | 'protocol'
  /** DNS_CHECK: the server answered with an error rcode */
  | 'dns'
  /** SMTP_CHECK: the banner is not 220 or the HELO reply not 250 */
  | 'smtp'
  /** UDP_CHECK: the reply's length or bytes are not those require_reply asks for */
  | 'reply'
  /** MISC_CHECK exited with a failing status or was killed by a signal */
  | 'exit-code'
  /** MISC_CHECK could not be started (refused by script security, spawn failed) */
  | 'spawn'
  /** the caller aborted the probe */
  | 'aborted'
  /** the probe's options cannot be used (a bad regex, no url) */
  | 'config';

export type ProbeResult =
  | { ok: true; detail?: string; /** MISC_CHECK with misc_dynamic: the weight the exit code asks for */ weight?: number }
  | { ok: false; reason: ProbeFailureReason; detail: string };

export interface ProbeContext {
  signal?: AbortSignal;
}

/** The real server a checker is attached to. */
export interface ProbeTarget {
  address: string;
  port: number;
}

/** keepalived's conn_opts: where to connect and from where, and how long to wait. */
export interface ConnectOptions {
  /** connect_ip: connect here instead of the real server's address */
  connectIp?: string;
  /** connect_port: connect here instead of the real server's port */
  connectPort?: number;
  /** bindto: the local address to connect from */
  bindto?: string;
  /** bind_port: the local port to connect from */
  bindPort?: number;
  /** connect_timeout in ms (keepalived's default is 5 s) */
  connectTimeoutMs?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export const fail = (reason: ProbeFailureReason, detail: string): ProbeResult => ({ ok: false, reason, detail });
