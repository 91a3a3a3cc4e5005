export * from './types.js';
export { tcpProbe, type TcpProbeOptions } from './tcp.js';
export { httpProbe, exchange, type HttpProbeOptions, type HttpUrl, type HttpProtocol } from './http.js';
export { miscProbe, miscOutcome, type MiscProbeOptions } from './misc.js';
export { pingProbe, sharedEchoPool, type PingProbeOptions } from './ping.js';
export { EchoPool, type EchoOutcome, type EchoSocketKey, type EchoPoolOptions } from './echo-channel.js';
