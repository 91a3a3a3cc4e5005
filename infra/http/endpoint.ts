/**
 * The read-only HTTP endpoint: GET (and HEAD) of a fixed set of paths, each
 * answered by a function of the caller's (metrics, status, health). Off
 * loopback it refuses to start without credentials; with them, every path
 * needs them. Answers never carry request data back, and errors are logged
 * here, not shown to the client.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../core/logger.js';
import { formatListenAddress, isLoopbackHost, type ListenAddress } from '../../config/http-listen.js';
import type { HttpAuth } from './auth.js';

export interface HttpReply {
  status: number;
  contentType: string;
  body: string;
  /** Extra response headers (e.g. a content security policy). */
  headers?: Record<string, string>;
}

/**
 * A server-sent-events path: subscribe is called per client with a send
 * function (one `data:` message per call) and returns the unsubscribe, called
 * when the client goes away or the endpoint closes.
 */
export type HttpStream = (send: (data: string) => void) => () => void;

/** One path's answer; it may throw (the client gets a bare 500, the log the error). */
export type HttpRoute = () => Promise<HttpReply> | HttpReply;

export interface HttpEndpointOptions {
  listen: ListenAddress;
  /** null: no credentials (refused unless the address is loopback). */
  auth: HttpAuth | null;
  routes: Record<string, HttpRoute>;
  /** Server-sent-events paths. */
  streams?: Record<string, HttpStream>;
  log: Logger;
}

export type HttpListenResult = { ok: true; endpoint: HttpEndpoint } | { ok: false; message: string };

// A scrape or a status read is one small request: a slow or idle client is cut off early.
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_CONNECTIONS = 64;

export class HttpEndpoint {
  private constructor(
    private readonly server: Server,
    readonly address: ListenAddress,
  ) {}

  /** Binds and serves; refuses (as a value) a non-loopback address without credentials, or a bind error. */
  static async listen(o: HttpEndpointOptions): Promise<HttpListenResult> {
    const where = formatListenAddress(o.listen);
    if (o.auth === null && !isLoopbackHost(o.listen.host))
      return {
        ok: false,
        message: `refusing to serve HTTP on ${where} without credentials: give an auth file (a bearer token or user:password), or listen on loopback`,
      };
    const log = o.log.child({ component: 'http' });
    const server = createServer((req, res) => void handle(req, res, o, log));
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.headersTimeout = REQUEST_TIMEOUT_MS;
    server.maxConnections = MAX_CONNECTIONS;
    const bound = await new Promise<string | null>((resolve) => {
      server.once('error', (err: NodeJS.ErrnoException) => resolve(`cannot listen on ${where}: ${err.code ?? err.message}`));
      server.listen({ host: o.listen.host, port: o.listen.port, ipv6Only: o.listen.host === '::' ? false : undefined }, () => resolve(null));
    });
    if (bound !== null) return { ok: false, message: bound };
    server.on('error', (err) => log.error({ err }, 'http server error'));
    const port = (server.address() as AddressInfo).port;
    const endpoint = new HttpEndpoint(server, { host: o.listen.host, port });
    log.info({ listen: formatListenAddress(endpoint.address), auth: o.auth ? o.auth.kinds : 'none', paths: Object.keys(o.routes) }, 'http endpoint listening');
    if (o.auth?.worldReadable) log.warn('the HTTP auth file is readable by every user of the host');
    return { ok: true, endpoint };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, o: HttpEndpointOptions, log: Logger): Promise<void> {
  const reply = (status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  try {
    if (o.auth !== null && !o.auth.allows(req.headers.authorization)) {
      log.debug({ remote: req.socket.remoteAddress, path: pathOf(req) }, 'http request without valid credentials');
      const challenge = o.auth.kinds.includes('basic') ? 'Bearer realm="vipflow", Basic realm="vipflow"' : 'Bearer realm="vipflow"';
      return reply(401, 'unauthorized\n', { 'www-authenticate': challenge });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'read-only: GET or HEAD\n', { allow: 'GET, HEAD' });
    const path = pathOf(req);
    const stream = o.streams && Object.hasOwn(o.streams, path) ? o.streams[path] : undefined;
    if (stream !== undefined) return serveStream(req, res, stream);
    const route = Object.hasOwn(o.routes, path) ? o.routes[path] : undefined;
    if (route === undefined) return reply(404, 'not found\n');
    const r = await route();
    reply(r.status, r.body, { ...r.headers, 'content-type': r.contentType });
  } catch (err) {
    log.error({ err, path: pathOf(req) }, 'http request failed');
    if (!res.headersSent) reply(500, 'internal error\n');
    else res.destroy();
  }
}

function serveStream(req: IncomingMessage, res: ServerResponse, stream: HttpStream): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
  if (req.method === 'HEAD') return void res.end();
  // A client that stops reading is dropped rather than buffered without bound.
  const send = (data: string) => {
    if (res.writableLength > 1_000_000) return void res.destroy();
    res.write(`data: ${data.replaceAll('\n', '\ndata: ')}\n\n`);
  };
  const unsubscribe = stream(send);
  res.on('close', unsubscribe);
}

/** The path without the query string (a scraper may add ?name[]=...; answers do not depend on it). */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
