/**
 * `vipflow genhash -s ADDRESS -p PORT -u PATH [-S] [-I] [-V VHOST] [-P 1.0|1.0c|1.1] [-t SECONDS] [-v]`
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

const USAGE = `usage: vipflow genhash -s server-address -p port -u url [options]
  --use-ssl         -S  use SSL (TLS; the certificate is not verified)    (also --ssl)
  --use-sni         -I  send SNI with the virtualhost (see -V)            (also --sni)
  --server          -s  the server's IP address
  --port            -p  the server's port
  --url             -u  the path to request
  --use-virtualhost -V  the Host: header (default: address:port)        (also --virtualhost)
  --protocol        -P  HTTP protocol: 1.0 (default), 1.0c (1.0 with Connection: close), 1.1
  --timeout         -t  connect and read timeout in seconds (default 5)
  --verbose         -v  print the request and the status line on stderr
  --help            -h
`;

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

const WITH_VALUE: Record<string, keyof GenhashArgs> = {
  '-s': 'server',
  '--server': 'server',
  '-p': 'port',
  '--port': 'port',
  '-u': 'url',
  '--url': 'url',
  '-V': 'virtualhost',
  '--use-virtualhost': 'virtualhost',
  '--virtualhost': 'virtualhost',
  '-P': 'protocol',
  '--protocol': 'protocol',
  '-t': 'timeoutMs',
  '--timeout': 'timeoutMs',
};

/** Parses genhash's options; a string is the error ('' for --help). */
export function parseGenhashArgs(argv: string[]): GenhashArgs | string {
  const raw: Partial<Record<keyof GenhashArgs, string>> = {};
  let ssl = false;
  let sni = false;
  let verbose = false;
  for (let k = 0; k < argv.length; k++) {
    let a = argv[k]!;
    let inline: string | undefined;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    if (eq > 0) {
      inline = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    if (a === '-h' || a === '--help') return '';
    if (a === '-S' || a === '--use-ssl' || a === '--ssl') ssl = true;
    else if (a === '-I' || a === '--use-sni' || a === '--sni') sni = true;
    else if (a === '-v' || a === '--verbose') verbose = true;
    else if (Object.hasOwn(WITH_VALUE, a)) {
      const key = WITH_VALUE[a]!;
      const v = inline ?? argv[++k];
      if (v === undefined) return `missing value for ${a}`;
      raw[key] = v;
    } else if (a.startsWith('-')) return `unknown option ${a}`;
    else return `unexpected argument ${a}`;
  }
  if (raw.server === undefined || raw.port === undefined || raw.url === undefined) return 'server (-s), port (-p) and url (-u) are required';
  if (isIP(raw.server) === 0) return `server should be an IP, not ${raw.server}`;
  const port = Number(raw.port);
  if (!/^\d+$/.test(raw.port) || port <= 0 || port > 65535) return `invalid port number '${raw.port}'`;
  let protocol: HttpProtocol = '1.0';
  if (raw.protocol !== undefined) {
    if (raw.protocol === '1.0' || raw.protocol === '1.1') protocol = raw.protocol;
    else if (raw.protocol === '1.0c' || raw.protocol === '1.0C') protocol = '1.0C';
    else return `invalid HTTP protocol version '${raw.protocol}'`;
  }
  let timeoutMs = 5000;
  if (raw.timeoutMs !== undefined) {
    if (!/^\d+$/.test(raw.timeoutMs.trim()) || Number(raw.timeoutMs) === 0) return `invalid timeout '${raw.timeoutMs}'`;
    timeoutMs = Number(raw.timeoutMs) * 1000;
  }
  return {
    server: raw.server,
    port,
    url: raw.url,
    ssl,
    sni,
    ...(raw.virtualhost !== undefined ? { virtualhost: raw.virtualhost } : {}),
    protocol,
    timeoutMs,
    verbose,
  };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseGenhashArgs(argv);
  if (typeof args === 'string') {
    if (args) process.stderr.write(`vipflow genhash: ${args}\n`);
    process.stderr.write(USAGE);
    return args ? 2 : 0;
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
