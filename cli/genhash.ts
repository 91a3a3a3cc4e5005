/**
 * `vipflow genhash -s ADDRESS -p PORT -u PATH [-S] [-I] [-V VHOST] [-P 1.0|1.0c|1.1] [-t SECONDS] [-v]` (options: cli/definitions.ts)
 *
 * Prints the MD5 digest of a url's body as keepalived's genhash (keepalived
 * --genhash, check_genhash.c) does: the same request, the body as received
 * after the header (no de-chunking), at most Content-Length bytes; the value
 * for a `digest` line of an HTTP_GET or SSL_GET url. Like genhash it prints the
 * digest whatever the status code (-v shows the status line on stderr).
 *
 * Exit status: 0 digest printed; 1 no response (refused, timeout, TLS error,
 * no HTTP header); 2 the command line is wrong. (genhash itself exits 0 when
 * the server does not answer.)
 */
import { isIP } from 'node:net';
import { destination } from '../infra/check/probes/connect.js';
import { buildRequest, exchange, sniName, type HttpProtocol } from '../infra/check/probes/http.js';
import { genhashDefinition, type GenhashOptions } from './definitions.js';
import { EXIT } from './exit-codes.js';
import { errorLine } from './usage-errors.js';

export interface GenhashArgs {
  server: string;
  port: number;
  url: string;
  ssl: boolean;
  sni: boolean;
  virtualhost?: string;
  protocol: HttpProtocol;
  timeoutMs: number;
  verbose: boolean;
}

/** The options checked and typed; a string is the error. */
export function genhashArgsFrom(o: GenhashOptions): GenhashArgs | string {
  if (isIP(o.server) === 0) return `server should be an IP, not ${o.server}`;
  const virtualhost = o.useVirtualhost ?? o.virtualhost;
  return {
    server: o.server,
    port: o.port,
    url: o.url,
    ssl: o.useSsl === true || o.ssl === true,
    sni: o.useSni === true || o.sni === true,
    ...(virtualhost !== undefined ? { virtualhost } : {}),
    protocol: o.protocol === '1.0c' || o.protocol === '1.0C' ? '1.0C' : o.protocol,
    timeoutMs: o.timeout * 1000,
    verbose: o.verbose === true,
  };
}

/** Parses genhash's command line with its commander definition, without running it; a string is the error ('' for --help). */
export function parseGenhashArgs(argv: string[]): GenhashArgs | string {
  let error = '';
  const cmd = genhashDefinition()
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: (s) => void (error = errorLine(cmd, s).trim()) });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch {
    return error;
  }
  return genhashArgsFrom(cmd.opts());
}

export async function genhash(opts: GenhashOptions): Promise<number> {
  const args = genhashArgsFrom(opts);
  if (typeof args === 'string') {
    process.stderr.write(`vipflow genhash: ${args} (see 'vipflow genhash --help')\n`);
    return EXIT.usage;
  }
  const dst = destination({ address: args.server, port: args.port }, {});
  const request = buildRequest(args.url, args.protocol, dst, args.virtualhost);
  const servername = sniName(
    { path: args.url },
    { urls: [], enableSni: args.sni, ...(args.virtualhost !== undefined ? { virtualhost: args.virtualhost } : {}) },
  );
  if (args.verbose) process.stderr.write(request);
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const x = await exchange({
      dst,
      request,
      tls: args.ssl,
      ...(servername !== undefined ? { servername } : {}),
      connectTimeoutMs: args.timeoutMs,
      digest: true,
      maxBodyBytes: Number.MAX_SAFE_INTEGER,
      maxExchangeMs: 10 * 60_000,
      signal: abort.signal,
    });
    if (!x.ok) {
      process.stderr.write(`vipflow genhash: ${x.result.ok ? 'failed' : x.result.detail}\n`);
      return 1;
    }
    const r = x.response;
    if (args.verbose) process.stderr.write(`${r.statusLine}\nbody ${r.bodyBytes} bytes, Content-Length ${r.contentLength ?? 'absent'}\n`);
    process.stdout.write(`${r.digest ?? ''}\n`);
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
