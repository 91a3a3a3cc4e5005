// Helper program (not a test): prints the cluster's KV state view as JSON.
// Runs inside a lab namespace, where the lab's nats-server is reachable.
// usage: events-kv-dump URL CLUSTER [CREDS_FILE]
import { NatsBus } from '../../infra/events/nats-bus.js';
import { silentLogger } from '../../core/logger.js';

const [url = '', cluster = 'default', credentialsFile] = process.argv.slice(2);
const bus = new NatsBus({ servers: url, cluster, log: silentLogger(), manageStream: false, ...(credentialsFile ? { security: { credentialsFile } } : {}) });
try {
  process.stdout.write(JSON.stringify(await bus.currentStates()) + '\n');
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await bus.close();
}
