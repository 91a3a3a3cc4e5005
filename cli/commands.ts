/**
 * The command table: one line per subcommand, each loading its module lazily.
 * Add a command here (and its module under cli/) and nowhere else.
 */
export interface CommandModule {
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

export interface CommandEntry {
  summary: string;
  load: () => Promise<CommandModule>;
}

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  run: { summary: 'run the VRRP daemon in the foreground', load: () => import('./run.js') },
  demo: { summary: 'failover demo in a throwaway namespace lab (root)', load: () => import('./demo.js') },
  status: { summary: "show the running daemon's instances", load: () => import('./status.js') },
  'check-config': { summary: 'validate a keepalived.conf or vipflow.config.ts', load: () => import('./check-config.js') },
  convert: { summary: 'print a typed vipflow.config.ts equivalent to a keepalived.conf', load: () => import('./convert.js') },
  events: { summary: "print the cluster's events from NATS JetStream (--follow to tail)", load: () => import('./events.js') },
  workflows: {
    summary: 'dry-run workflows against a hand-written event (workflows test --workflows FILE --event EVENT.json)',
    load: () => import('./workflows.js'),
  },
  genhash: { summary: "print the MD5 digest of a url's body as keepalived's genhash does (-s ADDR -p PORT -u PATH)", load: () => import('./genhash.js') },
  worker: { summary: 'run workflows as a stateless JetStream worker (worker --nats URL --workflows FILE)', load: () => import('./worker.js') },
};
