/**
 * The command definitions: every subcommand's options, arguments, help and
 * exit codes, declared with commander (typed through extra-typings). Help,
 * `--opt=value`, refusal of unknown options and extra arguments, and shell
 * completion all come from these declarations, so an option added here is
 * everywhere at once. cli/commands.ts attaches the actions.
 *
 * Short flags have one meaning across commands: -f is --config (as in
 * keepalived -f), -i is --config-id, -h is --help. genhash keeps keepalived's
 * genhash letters (-s -p -u -S -I -V -P -t -v) so that its users' habits work;
 * `vipflow -V` (before any command) is the version.
 */
import { Argument, Command, InvalidArgumentError, Option, type OptionValues } from '@commander-js/extra-typings';
import { exitCodesHelp } from './exit-codes.js';
import { parseDuration } from '../sim/scenario/duration.js';
import { LB_BACKENDS, LOG_LEVELS, collect, integerIn, milliseconds, positiveUpTo, type LogLevel } from './options.js';

export const DEFAULT_STATE_DIR = '/run/vipflow';

const logLevel = (fallback: LogLevel) => new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).env('VIPFLOW_LOG_LEVEL').default(fallback);
const lb = () =>
  new Option('--lb <backend>', 'who balances virtual_servers: IPVS if the kernel has it, else nftables (auto); none runs the checkers without kernel rules')
    .choices(LB_BACKENDS)
    .env('VIPFLOW_LB')
    .default('auto' as const);
const configIds = () =>
  new Option('-i, --config-id <id>', "keepalived's config id for @id blocks, repeatable")
    .argParser(collect)
    .default([] as string[], 'the host name up to its first dot');
// NATS credentials and TLS, the same for every command that connects (README "Securing the event path").
// Secrets only as files or environment variables: a secret on the command line shows in ps.
const natsCreds = () => new Option('--nats-creds <file>', 'NATS creds file (user JWT + nkey seed, from nsc)').env('VIPFLOW_NATS_CREDS');
const natsNkey = () => new Option('--nats-nkey <file>', 'a file holding the NATS nkey seed (SU...)').env('VIPFLOW_NATS_NKEY');
const natsUser = () => new Option('--nats-user <name>', 'NATS user; its password from --nats-password-file or $VIPFLOW_NATS_PASSWORD').env('VIPFLOW_NATS_USER');
const natsPasswordFile = () => new Option('--nats-password-file <file>', 'a file holding the NATS password').env('VIPFLOW_NATS_PASSWORD_FILE');
const natsTokenFile = () => new Option('--nats-token-file <file>', 'a file holding the NATS token (or $VIPFLOW_NATS_TOKEN)').env('VIPFLOW_NATS_TOKEN_FILE');
const natsCa = () => new Option('--nats-ca <file>', "the CA that signed the NATS server's certificate (PEM)").env('VIPFLOW_NATS_CA');
const natsCert = () => new Option('--nats-cert <file>', 'TLS client certificate for NATS (PEM)').env('VIPFLOW_NATS_CERT');
const natsKey = () => new Option('--nats-key <file>', "the TLS client certificate's key (PEM)").env('VIPFLOW_NATS_KEY');
const natsServerName = () =>
  new Option('--nats-server-name <name>', "the name in the NATS server's certificate, if not the URL's host").env('VIPFLOW_NATS_SERVER_NAME');
/** The credential and TLS options every NATS client command takes (infra/events/nats-settings.ts reads them). */
function withNatsSecurity<A extends unknown[], O extends OptionValues, G extends OptionValues>(c: Command<A, O, G>) {
  return c
    .addOption(natsCreds())
    .addOption(natsNkey())
    .addOption(natsUser())
    .addOption(natsPasswordFile())
    .addOption(natsTokenFile())
    .addOption(natsCa())
    .addOption(natsCert())
    .addOption(natsKey())
    .addOption(natsServerName());
}
const stateDir = () => new Option('--state-dir <dir>', 'where the daemon keeps its pid file, control socket and dumps').default(DEFAULT_STATE_DIR);

export function runDefinition() {
  return withNatsSecurity(
    new Command('run')
      .summary('run the VRRP daemon in the foreground')
      .description(
        'Runs the VRRP daemon in the foreground: pino JSON logs on stdout, one VRRP actor per instance.\n' +
          'SIGTERM/SIGINT stop it gracefully (exit 0), SIGHUP reloads the configuration, SIGUSR1 writes a status dump to the state dir.\n' +
          'Needs CAP_NET_RAW and CAP_NET_ADMIN: run it as root or through the vipflow systemd unit (AmbientCapabilities=).',
      )
      .requiredOption('-f, --config <file>', 'a keepalived.conf or vipflow.config.ts')
      .addOption(stateDir())
      .addOption(logLevel('info'))
      .option('--pretty', 'human-readable log lines instead of JSON (coloured only on a terminal)')
      .addOption(configIds())
      .addOption(new Option('--nats <urls>', 'NATS servers for events, comma-separated (default: none, events stay in-process)').env('VIPFLOW_NATS_URL')),
  )
    .addOption(
      new Option('--nats-signing-key <file>', 'an nkey seed file: every event is signed with it, for workers that check (trusted nodes)').env(
        'VIPFLOW_NATS_SIGNING_KEY',
      ),
    )
    .addOption(new Option('--cluster <name>', 'cluster name in events (default: the config\'s, else "default")').env('VIPFLOW_CLUSTER'))
    .addOption(new Option('--node-id <name>', 'this node in events and KV (default: the host name)').env('VIPFLOW_NODE_ID'))
    .addOption(
      new Option('--split-brain <policy>', 'page: an event only; fence: the yielding Master steps down until it clears (default: page)')
        .choices(['page', 'fence'] as const)
        .env('VIPFLOW_SPLIT_BRAIN'),
    )
    .option('--split-brain-grace <n>', 'advert intervals two Masters must overlap before it counts (default: 3)', positiveUpTo(1000))
    .addOption(
      new Option('--workflows <file>', "a .ts/.js file of defineWorkflow()s run on transitions (replaces the config's vipflow.workflowsFile)").env(
        'VIPFLOW_WORKFLOWS',
      ),
    )
    .addOption(lb())
    .option(
      '--http <addr:port>',
      'serve the status page, /metrics, /api/v1/status and /healthz, read-only; off loopback it needs --http-auth-file (default: off)',
    )
    .option('--http-auth-file <file>', 'a file holding a bearer token, or user:password for basic auth')
    .addHelpText(
      'after',
      exitCodesHelp({
        0: 'stopped by SIGTERM/SIGINT after a clean handover',
        1: 'the config has errors, the instances or the HTTP endpoint could not start, or the shutdown failed',
        3: 'not permitted: CAP_NET_RAW/CAP_NET_ADMIN missing, or the state directory cannot be created or written',
      }),
    );
}
export type RunOptions = ReturnType<ReturnType<typeof runDefinition>['opts']>;

export function demoDefinition() {
  return new Command('demo')
    .summary('failover demo in a throwaway namespace lab (root)')
    .description('Builds a lab of network namespaces (two routers with nginx and vipflow, a client), kills the Master and shows the VIP moving.')
    .option('--advert-int <seconds>', 'advertisement interval (whole seconds for VRRPv2)', positiveUpTo(255), 1)
    .addOption(new Option('--vrrp-version <n>', 'VRRP version').choices(['2', '3'] as const).default('3' as const))
    .addHelpText('after', exitCodesHelp({ 0: 'the VIP moved and the client was served by the new Master', 1: 'the demo failed', 3: 'not root' }));
}
export type DemoOptions = ReturnType<ReturnType<typeof demoDefinition>['opts']>;

export function statusDefinition() {
  return new Command('status')
    .summary("show the running daemon's instances")
    .description("The running daemon's view of every instance, read over its control socket (<state-dir>/control.sock).")
    .addOption(stateDir())
    .option('--json', 'the full status as JSON')
    .addHelpText(
      'after',
      exitCodesHelp({
        1: 'no daemon answers on the control socket',
        3: "not permitted to use the control socket (run as root or as the daemon's user)",
        4: 'the state directory does not exist: no daemon runs with it',
      }),
    );
}
export type StatusOptions = ReturnType<ReturnType<typeof statusDefinition>['opts']>;

export function checkConfigDefinition() {
  return new Command('check-config')
    .summary('validate a keepalived.conf or vipflow.config.ts')
    .description(
      'Loads a keepalived.conf or vipflow.config.ts as the daemon would and prints every diagnostic, including those of the workflows it declares.\n' +
        'A vipflow.config.ts is also type-checked when the typescript package is installed (only here: `vipflow run` validates the values).\n' +
        'The config is checked against this host (interfaces, their addresses, scripts, users) unless --host-independent.',
    )
    .argument('<file>', 'the config to check')
    .option('--json', 'diagnostics as a JSON array on stdout')
    .option('--strict', 'warnings fail the check too (exit 1), for CI linting')
    .addOption(configIds())
    .addOption(lb())
    .option('--host-independent', 'skip the checks against this host: for a config written for another machine')
    .addHelpText(
      'after',
      exitCodesHelp({ 0: 'valid (warnings may be printed)', 1: 'errors (with --strict: or warnings)', 2: 'bad usage, or the file cannot be read' }),
    );
}
export type CheckConfigOptions = ReturnType<ReturnType<typeof checkConfigDefinition>['opts']>;

export function convertDefinition() {
  return new Command('convert')
    .summary('print a typed vipflow.config.ts equivalent to a keepalived.conf')
    .description('Prints a typed vipflow.config.ts equivalent to a keepalived.conf on stdout; warnings go to stderr.')
    .argument('<keepalived-conf>', 'the keepalived.conf to convert')
    .addOption(configIds())
    .option('--import-from <module>', 'where the converted file imports defineConfig from', 'vipflow/config')
    .addHelpText('after', exitCodesHelp({ 0: 'converted', 1: 'the file has errors (nothing printed on stdout)', 2: 'bad usage, or the file cannot be read' }));
}
export type ConvertOptions = ReturnType<ReturnType<typeof convertDefinition>['opts']>;

export function eventsDefinition() {
  return withNatsSecurity(
    new Command('events')
      .summary("print the cluster's events from NATS JetStream (--follow to tail)")
      .description(
        "Prints the cluster's events from its JetStream stream: everything retained (or from --since) and exits, or keeps printing new ones\n" +
          'with --follow until interrupted. Human lines by default; --json prints each event as one JSON line. Logs go to stderr.',
      )
      .addOption(new Option('--nats <url>', 'NATS server').env('VIPFLOW_NATS_URL').default('nats://127.0.0.1:4222')),
  )
    .addOption(
      new Option('--domain <name>', "JetStream domain of the stream (default: the server's own), e.g. a site's from the hub").env('VIPFLOW_NATS_DOMAIN'),
    )
    .addOption(new Option('--cluster <name>', 'cluster name').env('VIPFLOW_CLUSTER').default('default'))
    .option('--follow', 'keep printing new events until interrupted')
    .option('--since <time>', 'ISO time (2026-11-26T08:00:00Z) or a duration back from now (90s, 15m, 2h, 1d)')
    .addOption(
      new Option(
        '--type <type>',
        'only events of this type (instance.transition, daemon.start, ...: an unknown one is refused with the list), repeatable or comma-separated',
      )
        .argParser(collect)
        .default([] as string[], 'every type'),
    )
    .option('--instance <name>', 'only events of this VRRP instance')
    .option('--json', 'one JSON event per line')
    .addOption(logLevel('error'))
    .addHelpText(
      'after',
      exitCodesHelp({ 0: 'done (or interrupted while following)', 1: 'NATS unreachable, the stream missing, or the credentials refused or unreadable' }),
    );
}
export type EventsOptions = ReturnType<ReturnType<typeof eventsDefinition>['opts']>;

export function fleetDefinition() {
  return (
    withNatsSecurity(
      new Command('fleet')
        .summary('every site, cluster and virtual router a NATS hub knows of (--watch, --json; fleet setup to create its mirrors)')
        .description(
          'Reads the hub: per site (the JetStream domain of its leaf node), cluster and VRRP instance, the Master, its priority, the last\n' +
            'transition and its age, split-brain flags and running workflows, from the mirrors `vipflow fleet setup` created (or from\n' +
            "a single server's own streams). --watch redraws on change (at most every --refresh ms); --json prints the model (one line per\n" +
            'redraw with --watch). --http serves the same view as a live web page (and the model as JSON) until interrupted. Logs go to stderr.',
        )
        .addOption(new Option('--nats <urls>', 'NATS servers of the hub, comma-separated').env('VIPFLOW_NATS_URL').default('nats://127.0.0.1:4222')),
    )
      .addOption(new Option('--domain <name>', "JetStream domain to read (default: the server's own), e.g. the hub's from a site").env('VIPFLOW_NATS_DOMAIN'))
      .option('--watch', 'keep redrawing on change until interrupted')
      .option('--json', 'the fleet model as JSON')
      .option('--refresh <ms>', 'with --watch: least time between redraws; with --http: between pushes to an open page', integerIn(50, 60_000), 250)
      .option(
        '--http <addr:port>',
        'serve the fleet page, /api/v1/fleet/live, /api/v1/fleet and /healthz, read-only, until interrupted; off loopback it needs --http-auth-file',
      )
      .option('--http-auth-file <file>', 'a file holding a bearer token, or user:password for basic auth')
      // `fleet setup` has options of the same names: those after `setup` are its own.
      .enablePositionalOptions()
      .option('--since <duration>', 'events read for workflow runs and split-brain reports, back from now (90s, 15m, 2h, 1d)', '1h')
      .addOption(logLevel('error'))
      .addHelpText(
        'after',
        exitCodesHelp({ 0: 'printed (or interrupted while watching or serving)', 1: 'NATS unreachable, or the HTTP endpoint cannot start' }),
      )
  );
}
export type FleetOptions = ReturnType<ReturnType<typeof fleetDefinition>['opts']>;

export function fleetSetupDefinition() {
  return withNatsSecurity(
    new Command('setup')
      .summary("create the hub's mirrors of every site's event stream and state bucket (idempotent)")
      .description(
        "For each --site NAME=CLUSTER[,CLUSTER...] (NAME is the site leaf node's JetStream domain), creates at the hub the mirrors\n" +
          'VIPFLOW_<cluster> and KV_vipflow-state-<cluster> through the API prefix $JS.<NAME>.API, with --replicas copies, or brings\n' +
          'existing ones to these settings. Run it again after adding a site or a cluster. Cluster names must be unique across the fleet.',
      )
      .addOption(new Option('--nats <urls>', 'NATS servers of the hub, comma-separated').env('VIPFLOW_NATS_URL').default('nats://127.0.0.1:4222')),
  )
    .addOption(new Option('--domain <name>', "the hub's JetStream domain, when connected elsewhere (default: the server's own)").env('VIPFLOW_NATS_DOMAIN'))
    .addOption(new Option('--site <name=clusters>', 'a site and its clusters, repeatable').argParser(collect).default([] as string[]))
    .option('--replicas <n>', 'copies of each mirror on the hub cluster', integerIn(1, 5), 3)
    .option('--max-age <duration>', 'oldest event kept at the hub (90s, 15m, 2h, 7d)', '7d')
    .addOption(logLevel('error'))
    .addHelpText('after', exitCodesHelp({ 0: 'every mirror exists as asked', 1: 'NATS unreachable, or a stream of that name exists with another origin' }));
}
export type FleetSetupOptions = ReturnType<ReturnType<typeof fleetSetupDefinition>['opts']>;

export function workflowsTestDefinition() {
  return new Command('test')
    .summary('dry-run workflows against a hand-written event')
    .description(
      'Runs every workflow the event triggers with ctx.dryRun set: commands are printed instead of run, built-in notifiers print what they\n' +
        'would do. With --config the workflows are those the daemon would run for that config (--workflows then replaces its file).\n' +
        'The event may be a full vipflow.event/v1 envelope or just { "type", "data" }.',
    )
    .option('--workflows <file>', 'a .ts/.js file of defineWorkflow()s')
    .option('-f, --config <file>', 'a config: its vipflow.workflows and vipflow.workflowsFile')
    .requiredOption('--event <file>', 'the event, as JSON')
    .option('--json', 'the runs as JSON')
    .addHelpText(
      'after',
      exitCodesHelp({ 0: 'every triggered run succeeded', 1: 'a run failed', 2: 'bad usage, or the workflows file, the config or the event is wrong' }),
    );
}
export type WorkflowsTestOptions = ReturnType<ReturnType<typeof workflowsTestDefinition>['opts']>;

/** Also used by parseGenhashArgs, which parses without running. */
export function genhashDefinition() {
  return new Command('genhash')
    .summary("print the MD5 digest of a url's body as keepalived's genhash does (-s ADDR -p PORT -u PATH)")
    .description(
      "Prints the MD5 digest of a url's body as keepalived's genhash does (the value for an HTTP_GET/SSL_GET digest line): the same request,\n" +
        'the body as received after the header, whatever the status code. The short letters are those of keepalived --genhash.',
    )
    .requiredOption('-s, --server <address>', "the server's IP address")
    .requiredOption('-p, --port <port>', "the server's port", integerIn(1, 65535))
    .requiredOption('-u, --url <path>', 'the path to request')
    .option('-S, --use-ssl', 'use TLS (the certificate is not verified); also --ssl')
    .addOption(new Option('--ssl').hideHelp())
    .option('-I, --use-sni', 'send SNI with the virtual host (see -V); also --sni')
    .addOption(new Option('--sni').hideHelp())
    .option('-V, --use-virtualhost <host>', 'the Host: header (default: address:port); also --virtualhost')
    .addOption(new Option('--virtualhost <host>').hideHelp())
    .addOption(
      new Option('-P, --protocol <version>', 'HTTP protocol; 1.0c is 1.0 with Connection: close')
        .choices(['1.0', '1.0c', '1.0C', '1.1'] as const)
        .default('1.0' as const),
    )
    .option('-t, --timeout <seconds>', 'connect and read timeout', integerIn(1, 86_400), 5)
    .option('-v, --verbose', 'print the request and the status line on stderr')
    .addHelpText('after', exitCodesHelp({ 0: 'digest printed', 1: 'no response (refused, timeout, TLS error, no HTTP header)' }));
}
export type GenhashOptions = ReturnType<ReturnType<typeof genhashDefinition>['opts']>;

export function workerDefinition() {
  return withNatsSecurity(
    new Command('worker')
      .summary('run workflows as a stateless JetStream worker (worker --nats URL --workflows FILE)')
      .description(
        "Runs workflows as a stateless worker on the cluster's durable JetStream consumers instead of inside the daemon; start as many as wanted.\n" +
          "With --config the workflows are those the config declares (it must say workflowRunner: 'workers'), its sync groups serve on.group,\n" +
          'and its vipflow.nats.url is the default for --nats. SIGTERM/SIGINT: running workflows get --stop-grace to finish, the rest go to other\n' +
          'workers. NATS being unreachable is never an exit: the worker logs it and keeps retrying.',
      )
      .addOption(new Option('--nats <urls>', "NATS servers, comma-separated (default: the config's vipflow.nats.url)").env('VIPFLOW_NATS_URL')),
  )
    .addOption(
      new Option('--nats-trusted-nodes <file>', 'JSON {"node": "U..."}: only events signed by their node\'s key start workflows').env(
        'VIPFLOW_NATS_TRUSTED_NODES',
      ),
    )
    .addOption(new Option('--workflows <file>', 'a .ts/.js file of defineWorkflow()s').env('VIPFLOW_WORKFLOWS'))
    .option('-f, --config <file>', 'a vipflow.config.ts: its workflows, sync groups and NATS URL')
    .addOption(new Option('--cluster <name>', 'cluster name').env('VIPFLOW_CLUSTER').default('default'))
    .option('--concurrency <n>', 'workflow runs in flight per trigger kind', integerIn(1, 1000), 4)
    .option('--name <id>', 'worker name in logs and workflow.* events (default: <host>-<pid>)')
    .option('--stop-grace <ms>', 'how long running workflows get to finish at SIGTERM', milliseconds, 10_000)
    .option('--http <addr:port>', 'serve /metrics and /healthz, read-only; off loopback it needs --http-auth-file (default: off)')
    .option('--http-auth-file <file>', 'a file holding a bearer token, or user:password for basic auth')
    .addOption(logLevel('info'))
    .addHelpText(
      'after',
      exitCodesHelp({
        0: 'stopped by SIGTERM/SIGINT',
        1: 'the workflows do not load, or the HTTP endpoint cannot start',
        2: 'bad usage, or a config whose daemons run the workflows too',
      }),
    );
}
export type WorkerOptions = ReturnType<ReturnType<typeof workerDefinition>['opts']>;

export function completionDefinition() {
  return new Command('completion')
    .summary('print a shell completion script (bash or zsh)')
    .description(
      'Prints a completion script generated from these command definitions.\n' +
        '  bash: vipflow completion bash > /etc/bash_completion.d/vipflow   (or: source <(vipflow completion bash))\n' +
        '  zsh:  vipflow completion zsh > "${fpath[1]}/_vipflow"',
    )
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh'] as const))
    .addHelpText('after', exitCodesHelp({}));
}

/** `vipflow simulate` (cli/simulate.ts): a simulated-time duration, `60s`, `1.5m`, `500ms` or plain ms. */
function simulatedDuration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('Expected a duration: 60s, 2m, 500ms or a number of ms.');
  return ms;
}

export function simulateDefinition() {
  return new Command('simulate')
    .summary('rehearse a failover plan: a scenario on a simulated LAN, in virtual time (simulate SCENARIO)')
    .description(
      'Runs a scenario file (.yaml/.yml, or .ts/.js exporting defineScenario({...})): its nodes with their configs (keepalived.conf or\n' +
        'vipflow.config.ts), the real VRRP actors on a simulated LAN in virtual time, the faults on its timeline, and the configured\n' +
        'workflows in dry run. Prints the timeline, then each expectation as PASS or FAIL with expected against actual and the time.\n' +
        'Deterministic: the same scenario and seed give byte-identical output.',
    )
    .addArgument(new Argument('<scenario>', 'the scenario file'))
    .option('--seed <n>', "seed of the loss draws (default: the scenario's, else 1)", integerIn(0, 2 ** 32 - 1))
    .option('--until <duration>', "virtual time to run (default: the scenario's, else 60s)", simulatedDuration)
    .option('--json', 'the timeline and the expectations as one JSON document')
    .addHelpText(
      'after',
      exitCodesHelp({ 0: 'every expectation met', 1: 'an expectation failed', 2: 'bad usage, or the scenario or a config in it is wrong' }),
    );
}
export type SimulateOptions = ReturnType<ReturnType<typeof simulateDefinition>['opts']>;
