/** Server URLs for logs and status: a password or token written into a URL (nats://u:p@host) is masked. No NATS import: the daemon logs these without NATS. */
export function redactServers(servers: string | string[]): string[] {
  return (Array.isArray(servers) ? servers : [servers]).map((u) => u.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1***@'));
}
