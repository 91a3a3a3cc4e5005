/**
 * nginx in a lab node with every path private to it (config, pid, logs,
 * document root under the lab dir), serving a page that names the node, so
 * a client can tell which router answered on the VIP.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab, SpawnedProcess } from './lab.js';
import { pollUntil } from './run.js';

export interface NginxProcess extends SpawnedProcess {
  root: string;
}

/**
 * An nginx.conf whose every path (pid, error log, temp dirs) is under `dir`, so
 * several instances run side by side: `dir/tmp` must exist. `server` is the body
 * of the one server block.
 */
export function privateNginxConf(dir: string, workerConnections: number, server: string): string {
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${workerConnections}; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
${server}  }
}
`;
}

export async function startNginx(lab: Lab, node: string, port = 80): Promise<NginxProcess> {
  const base = join(lab.dir, `nginx-${node}`);
  const root = join(base, 'html');
  mkdirSync(join(base, 'tmp'), { recursive: true });
  mkdirSync(root, { recursive: true });
  // nginx workers drop to an unprivileged user: they must be able to walk
  // into the lab dir (created 0700) to read the page.
  chmodSync(lab.dir, 0o711);
  chmodSync(base, 0o755);
  chmodSync(root, 0o755);
  writeFileSync(join(root, 'index.html'), `${node}\n`);
  const conf = join(base, 'nginx.conf');
  writeFileSync(
    conf,
    privateNginxConf(
      base,
      256,
      `    listen ${port};
    listen [::]:${port};
    root ${root};
    location / { add_header X-Node ${node}; }
`,
    ),
  );
  const proc = lab.spawn(node, 'nginx', ['-c', conf, '-p', base]);
  const up = await pollUntil(
    async () => ((await lab.exec(node, 'bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], 2000)).code === 0 ? true : undefined),
    5000,
    50,
  );
  if (!up) throw new Error(`nginx in ${node} did not start listening on port ${port} within 5 s`);
  return { ...proc, root };
}
