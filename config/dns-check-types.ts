/** DNS_CHECK `type`: keepalived's DNS_TYPE table (check_dns.c) with the query type numbers. Apart from model.ts so the DNS probe does not load zod. */
export const DNS_CHECK_TYPES: Readonly<Record<string, number>> = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28, RRSIG: 46, DNSKEY: 48 };
