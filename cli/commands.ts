/**
 * The command table: one line per subcommand, each loading its module lazily.
 * Add a command here and nowhere else.
 */
import { registerCommand } from './main.js';

// Commands are registered below as their modules land.
void registerCommand;
registerCommand('run', { summary: 'run the VRRP daemon in the foreground', load: () => import('./run.js') });
registerCommand('demo', { summary: 'failover demo in a throwaway namespace lab (root)', load: () => import('./demo.js') });
registerCommand('status', { summary: "show the running daemon's instances", load: () => import('./status.js') });
registerCommand('check-config', { summary: 'validate a keepalived.conf or vipflow.config.ts', load: () => import('./check-config.js') });
registerCommand('convert', { summary: 'print a typed vipflow.config.ts equivalent to a keepalived.conf', load: () => import('./convert.js') });
registerCommand('events', { summary: "print the cluster's events from NATS JetStream (--follow to tail)", load: () => import('./events.js') });
registerCommand('workflows', {
  summary: 'dry-run workflows against a hand-written event (workflows test --workflows FILE --event EVENT.json)',
  load: () => import('./workflows.js'),
});
registerCommand('worker', { summary: 'run workflows as a stateless JetStream worker (worker --nats URL --workflows FILE)', load: () => import('./worker.js') });
