/**
 * The built-in DNS notifier: points a name at this node by RFC 2136 dynamic update,
 * signed with TSIG (RFC 8945), and verifies the result with a query to the same server.
 *
 * Implemented in TypeScript over node:dgram and node:crypto rather than by running
 * `nsupdate`: an address update is one small message (message.ts, ~350 lines with the
 * response parser and the response signature check), and doing it in-process gives
 * typed results (the response code and the TSIG error come back as numbers, not as text
 * to scrape from nsupdate's output), keeps the secret out of temp files and argv, needs
 * no bind9-dnsutils on the nodes, and honours the step's AbortSignal directly. BIND 9 is
 * the oracle in the tests.
 * Limits: UDP only (an update of a few addresses never needs TCP), no prerequisites, an
 * IP literal for the server.
 */
export { dnsOptionsSchema, dnsKeySchema, parseDnsOptions, type DnsOptions, type DnsSettings } from './options.js';
export { dnsUpdateStep, runDnsUpdate, DnsUpdateError, type DnsFailureKind, type DnsUpdateResult, type DnsRunDeps } from './step.js';
export { TSIG_ALGORITHMS, type TsigAlgorithm, type RecordType } from './message.js';
