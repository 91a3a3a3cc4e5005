export * from './types.js';
export { tcpProbe, type TcpProbeOptions } from './tcp.js';
export { httpProbe, exchange, type HttpProbeOptions, type HttpUrl, type HttpProtocol } from './http.js';
export { miscProbe, miscOutcome, type MiscProbeOptions } from './misc.js';
