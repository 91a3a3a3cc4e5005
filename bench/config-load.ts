/**
 * Loads a generated 10 MB keepalived.conf (VRRP instances with scripts and
 * sync groups, virtual servers with real servers and checkers) and prints
 * the load time and memory. Target: under 2 s on the project machine.
 *
 *   npx tsx bench/config-load.ts [MEGABYTES]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKeepalivedFile } from '../config/keepalived/index.js';

function instance(k: number): string {
  const vrid = (k % 255) + 1;
  const iface = `eth${Math.floor(k / 255)}`;
  const net = `${18 + ((k >> 16) & 1)}.${(k >> 8) & 255}.${k & 255}`;
  return `vrrp_instance VI_${k} {
    state ${k % 2 ? 'BACKUP' : 'MASTER'}
    interface ${iface}
    virtual_router_id ${vrid}
    priority ${100 + (k % 100)}
    advert_int 1
${k % 2 ? '    nopreempt\n' : ''}    authentication {
        auth_type PASS
        auth_pass pw${k % 1000}
    }
    unicast_src_ip 198.${net}
    unicast_peer {
        198.${net.replace(/\.\d+$/, '')}.${(k + 1) & 255} min_ttl 250 max_ttl 255
    }
    virtual_ipaddress {
        198.${net}/24 dev ${iface} label ${iface}:${k % 100}
        198.${net.replace(/\.\d+$/, '')}.${(k + 7) & 255}/24
    }
    track_interface {
        ${iface} weight -10
    }
    track_script {
        chk_${k % 50} weight 5
    }
    notify_master "/usr/local/bin/notify.sh master VI_${k}"
    notify_backup "/usr/local/bin/notify.sh backup VI_${k}"
    garp_master_delay 3
}
`;
}

function virtualServer(k: number): string {
  const rs = [1, 2, 3]
    .map(
      (r) => `    real_server 198.18.${k & 255}.${r} 8080 {
        weight ${r}
        inhibit_on_failure
        HTTP_GET {
            url {
                path /health/${k}
                status_code 200-299
            }
            connect_timeout 3
            retry 3
            delay_before_retry 2
        }
    }
`,
    )
    .join('');
  return `virtual_server 198.19.${(k >> 8) & 255}.${k & 255} 80 {
    delay_loop 6
    lb_algo wrr
    lb_kind NAT
    persistence_timeout 50
    protocol TCP
${rs}}
`;
}

function generate(targetBytes: number): { text: string; instances: number; servers: number } {
  const parts: string[] = ['global_defs {\n    router_id bench\n    enable_script_security\n    script_user root\n}\n'];
  for (let s = 0; s < 50; s++) parts.push(`vrrp_script chk_${s} {\n    script "/usr/local/bin/check ${s}"\n    interval 2\n    fall 2\n    rise 2\n}\n`);
  let size = parts.reduce((a, p) => a + p.length, 0);
  let instances = 0;
  let servers = 0;
  // keepalived allows one VRID per interface and family: 255 instances per interface name.
  while (size < targetBytes) {
    const p = instances <= servers * 2 ? instance(instances++) : virtualServer(servers++);
    parts.push(p);
    size += p.length;
  }
  return { text: parts.join(''), instances, servers };
}

const mb = Number(process.argv[2] ?? 10);
const { text, instances, servers } = generate(mb * 1024 * 1024);
const dir = mkdtempSync(join(tmpdir(), 'vipflow-bench-'));
const file = join(dir, 'keepalived.conf');
writeFileSync(file, text);
try {
  // One warm-up at a tenth of the size so JIT compilation is not all counted.
  const warm = join(dir, 'warm.conf');
  writeFileSync(warm, generate(text.length / 10).text);
  loadKeepalivedFile(warm);
  globalThis.gc?.();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = loadKeepalivedFile(file);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const after = process.memoryUsage();
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  process.stdout.write(
    [
      `config-load: ${(text.length / 1048576).toFixed(1)} MB, ${text.split('\n').length} lines, ${instances} vrrp_instance, ${servers} virtual_server`,
      `  load time      ${ms.toFixed(0)} ms (target < 2000 ms) ${ms < 2000 ? 'OK' : 'SLOW'}; machine load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`,
      `  cpu time       ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms (user+system, all threads; wall time suffers when other work shares the cores)`,
      `  throughput     ${(text.length / 1048576 / (ms / 1000)).toFixed(1)} MB/s`,
      `  heap used      ${(after.heapUsed / 1048576).toFixed(0)} MB (delta ${((after.heapUsed - before.heapUsed) / 1048576).toFixed(0)} MB)`,
      `  rss            ${(after.rss / 1048576).toFixed(0)} MB`,
      `  diagnostics    ${r.diagnostics.length} (${errors.length} errors)${errors[0] ? `: first ${errors[0].line}:${errors[0].column} ${errors[0].message}` : ''}`,
      `  model          ${r.model ? `${r.model.vrrpInstances.length} instances, ${r.model.virtualServers.length} virtual servers` : 'none'}`,
    ].join('\n') + '\n',
  );
} finally {
  if (process.env.KEEP) process.stdout.write(`kept ${file}\n`);
  else rmSync(dir, { recursive: true, force: true });
}
