/**
 * A small HTTP/1.1 server for a lab node that answers every request with the
 * node's name, after an optional delay, and keeps connections alive: a client
 * can hold a connection open across a VIP move (python's http.server closes
 * each one). It runs as a child Node process in the node's namespace.
 */
import type { Lab, SpawnedProcess } from './lab.js';

// Plain JS so it runs with `node -e` in any namespace without the project's loader.
const SERVER_SOURCE = `
const http = require('node:http');
const [port, name, delay] = process.argv.slice(1);
const server = http.createServer((req, res) => {
  req.resume();
  setTimeout(() => res.end(name + '\\n'), Number(delay));
});
server.keepAliveTimeout = 10000;
server.listen(Number(port), '::');
`;

/** Serves `name` on `port` (all addresses, both families), each answer `delayMs` late. */
export function startWhoServer(lab: Lab, node: string, port: number, name: string, delayMs = 0): SpawnedProcess {
  return lab.spawn(node, process.execPath, ['-e', SERVER_SOURCE, String(port), name, String(delayMs)], ['ignore', 'ignore', 'ignore']);
}
