/**
 * Addresses of virtual_server, real_server and sorry_server read as
 * keepalived 2.2.7 reads them (inet_stosockaddr in lib/utils.c, alloc_vs /
 * alloc_rs / alloc_ssvr in check_data.c), and the virtual servers it then
 * drops or completes (validate_check_config):
 *
 * - a port is a number from 1 to 65535 (a running keepalived takes the
 *   leading digits of `80x`; `0` means no port); `-RANGE` or `/MASK` after
 *   the address is cut off;
 * - an address or port it cannot read skips that server: a real_server with
 *   its block, a sorry_server line, a virtual_server with its block ("Invalid
 *   ... - skipping");
 * - a virtual_server left without real servers is ignored ("has no real
 *   servers - ignoring");
 * - a virtual_server on addresses with no `protocol` runs UDP ("no protocol
 *   set - defaulting to UDP");
 * - a real server repeated in one virtual_server is removed ("is duplicated -
 *   removing second rs");
 * - ha_suspend on a virtual server using fwmarks is cleared ("cannot use
 *   ha_suspend with fwmarks - clearing ha_suspend").
 *
 * vipflow does the same, with a warning each.
 */
import { ipFamily } from '../net.js';
import { keepalivedReads } from './keepalived-numbers.js';
import type { Mapper, Raw } from './mapper.js';
import type { Token } from './reader.js';

const PORT = { decimal: false, min: 1, max: 65535, says: '', onReject: { keeps: '' } } as const;

/** What inet_stosockaddr makes of ADDR [PORT]: the endpoint, or why it fails. */
export function keepalivedEndpoint(
  m: Mapper,
  addr: Token,
  port: Token | undefined,
  keyword: string,
): { ok: true; address: string; port?: number } | { ok: false; why: string } {
  let portNumber: number | undefined;
  // alloc_vs/alloc_rs: a port of zeros is no port (inet_stosockaddr would reject 0).
  if (port && !/^0+$/.test(port.text)) {
    const r = keepalivedReads(port.text, PORT);
    if (!r) return { ok: false, why: `port '${port.text}' is not a number from 1 to 65535` };
    if (!r.clean)
      m.sink.warning(
        port,
        `'${keyword}' port '${port.text}' is not a clean number; ${r.value} is used, as a running keepalived reads it ("WARNING - invalid number"; keepalived -t rejects it)`,
        {
          text: port.text,
        },
      );
    portNumber = r.value;
  }
  const cut = addr.text.search(/[-/]/);
  const address = cut < 0 ? addr.text : addr.text.slice(0, cut);
  const family = ipFamily(address);
  // keepalived picks the family by the presence of ':' and then inet_pton must agree.
  if (family === undefined || (family === 6) !== address.includes(':')) return { ok: false, why: `'${addr.text}' is not an IP address` };
  if (cut >= 0)
    m.sink.warning(addr, `'${addr.text.slice(cut)}' after the ${keyword} address is ignored, as keepalived ignores it (${address} is used)`, {
      text: addr.text,
    });
  return portNumber === undefined ? { ok: true, address } : { ok: true, address, port: portNumber };
}

/** The warning for a server keepalived skips, quoting its message. */
export function skippedServer(m: Mapper, at: Token, keyword: string, why: string): void {
  const says: Record<string, string> = {
    real_server: 'Invalid real server ip address/port - skipping',
    sorry_server: 'Invalid sorry server IP address - skipping',
    virtual_server: 'Invalid virtual server IP address/port - skipping',
  };
  const what = keyword === 'sorry_server' ? 'the sorry_server is' : `this ${keyword} is skipped with its block, as keepalived does`;
  m.sink.warning(at, `${why}: ${keyword === 'sorry_server' ? `${what} skipped, as keepalived does` : what} ("${says[keyword] ?? ''}")`, { text: at.text });
}

function list(raw: Raw, key: string): Raw[] {
  const v = raw[key];
  return Array.isArray(v) ? (v as Raw[]) : [];
}

/** validate_check_config's removals and defaults, on the raw model. `where` finds the token a path came from. */
export function settleVirtualServers(m: Mapper, raw: Raw, where: (path: string) => Token | undefined): void {
  const servers = list(raw, 'virtualServers');
  if (servers.length === 0) return;
  const groups = new Map(list(raw, 'virtualServerGroups').map((g) => [String(g.name), list(g, 'entries')]));
  const warn = (path: string, message: string): void => {
    const tok = where(path);
    if (tok) m.sink.warning(tok, message, { text: tok.text });
  };
  const kept: Raw[] = [];
  servers.forEach((vs, k) => {
    const target = (vs.target ?? {}) as Raw;
    const name =
      target.kind === 'address'
        ? `${String(target.address)}${target.port !== undefined ? ` ${String(target.port)}` : ''}`
        : `${String(target.kind)} ${String(target.fwmark ?? target.group)}`;
    const reals = list(vs, 'realServers');
    const seen = new Set<string>();
    const unique = reals.filter((rs, j) => {
      const key = `${String(rs.address)}|${String(rs.port ?? 0)}`;
      if (!seen.has(key)) return (seen.add(key), true);
      warn(
        `virtualServers.${k}.realServers.${j}`,
        `real_server ${String(rs.address)} ${String(rs.port ?? '')} repeated in virtual_server ${name}; the second is removed, as keepalived does ("is duplicated - removing second rs")`,
      );
      return false;
    });
    if (unique.length === 0) {
      warn(`virtualServers.${k}`, `virtual_server ${name} has no real_server; ignored, as keepalived does ("has no real servers - ignoring")`);
      return;
    }
    if (unique.length !== reals.length) vs.realServers = unique;
    const entries = target.kind === 'group' ? (groups.get(String(target.group)) ?? []) : [];
    const byAddress = target.kind === 'address' || entries.some((e) => e.kind === 'address');
    if (vs.haSuspend === true && (target.kind === 'fwmark' || entries.some((e) => e.kind === 'fwmark'))) {
      warn(
        `virtualServers.${k}.haSuspend`,
        `ha_suspend is cleared for virtual_server ${name}, which uses fwmarks, as keepalived does ("cannot use ha_suspend with fwmarks - clearing ha_suspend")`,
      );
      vs.haSuspend = false;
    }
    if (byAddress && vs.protocol === undefined) {
      warn(`virtualServers.${k}`, `virtual_server ${name} has no 'protocol'; UDP is used, as keepalived does ("no protocol set - defaulting to UDP")`);
      vs.protocol = 'UDP';
    }
    kept.push(vs);
  });
  raw.virtualServers = kept;
}

const FWMARK = { decimal: false, min: 0, max: 4294967295, says: '', onReject: { keeps: '' } } as const;

/** `virtual_server fwmark N`: alloc_vs skips the virtual server, block and all, on a mark it cannot read. */
export function keepalivedFwmark(m: Mapper, v: Token): number | undefined {
  const r = keepalivedReads(v.text, FWMARK);
  if (!r) {
    m.sink.warning(
      v,
      `fwmark '${v.text}' is not a number from 0 to 4294967295: this virtual_server is skipped with its block, as keepalived does ("virtual server fwmark must be in [0, 4294967295] - ignoring")`,
      {
        text: v.text,
      },
    );
    return undefined;
  }
  if (!r.clean)
    m.sink.warning(
      v,
      `fwmark '${v.text}' is not a clean number; ${r.value} is used, as a running keepalived reads it ("WARNING - invalid number"; keepalived -t rejects it)`,
      {
        text: v.text,
      },
    );
  return r.value;
}
