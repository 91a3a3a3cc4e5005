export * from './types.js';
export { tcpProbe, type TcpProbeOptions } from './tcp.js';
export { httpProbe, exchange, type HttpProbeOptions, type HttpUrl, type HttpProtocol } from './http.js';
export { miscProbe, miscOutcome, type MiscProbeOptions } from './misc.js';
export { pingProbe, sharedEchoPool, type PingProbeOptions } from './ping.js';
export { EchoPool, type EchoOutcome, type EchoSocketKey, type EchoPoolOptions } from './echo-channel.js';
export { dnsProbe, dnsType, encodeQuery, readReply, DNS_TYPES, type DnsProbeOptions } from './dns.js';
export { smtpProbe, parseReplyLine, DEFAULT_HELO_NAME, type SmtpProbeOptions } from './smtp.js';
export { udpProbe, parseHex, replyMismatch, DEFAULT_UDP_PAYLOAD, type UdpProbeOptions } from './udp.js';
