/**
 * The node programs the load-balancer lab tests run in their namespaces: a real
 * server answering its own name (and `/stream?n=N`, N lines 100 ms apart, 40 by
 * default, for long-lived connections), and a client for one slow download.
 */

/** argv[1]: the server's name; listens on 80 and 8080, IPv4 and IPv6. */
export const NAMED_HTTP_SERVER = `
const http = require('http');
const name = process.argv[1];
const handler = (q, s) => {
  const m = /^\\/stream(?:\\?n=(\\d+))?$/.exec(q.url);
  if (m) {
    s.writeHead(200);
    let n = 0;
    const t = setInterval(() => { s.write(name + ' ' + n++ + '\\n'); if (n >= Number(m[1] ?? 40)) { clearInterval(t); s.end(); } }, 100);
    q.on('close', () => clearInterval(t));
    return;
  }
  s.end(name);
};
for (const p of [80, 8080]) http.createServer(handler).listen(p, '::');
`;

/** argv[1]: the URL; prints {lines, names, complete, error}. */
export const SLOW_DOWNLOAD = `
const http = require('http');
const lines = [];
let error = null;
const q = http.get(process.argv[1], { agent: false }, (res) => {
  let buf = '';
  res.on('data', (d) => { buf += d; });
  res.on('end', () => { for (const l of buf.split('\\n')) if (l) lines.push(l); done(true); });
  res.on('error', (e) => { error = String(e); done(false); });
});
q.on('error', (e) => { error = String(e); done(false); });
function done(complete) {
  console.log(JSON.stringify({ lines: lines.length, names: [...new Set(lines.map((l) => l.split(' ')[0]))], complete, error }));
}
`;
