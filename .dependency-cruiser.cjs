/**
 * vipflow's layering, checked by `npm run lint` (dependency-cruiser).
 * Bottom to top; a folder may import its own layer and those below it:
 *
 *   core/                      small shared helpers (logger, paths, user modules)
 *   config/                    configuration model and loaders
 *   wire/codec, wire/announce  pure bytes: VRRP codec, gratuitous ARP / NA frames
 *   actors/                    pure rules: XState machines and decisions
 *   wire/socket, wire/hub      the addon's sockets and the VRID hub
 *   infra/                     host I/O (host/, scripts/), the event system
 *                              (events/), runners that drive actors (vrrp/, track/)
 *   workflows/                 the workflow engine
 *   notifiers/                 built-in steps and keepalived notify scripts
 *   daemon/                    the composition root
 *   sim/, lab/, cli/           the simulator, the namespace lab, the command
 *   bench/, test/              anything
 */
const layer = (name, path, mayImport) => ({
  name: `layer-${name}`,
  comment: `${name} may import only: ${mayImport.join(', ') || 'nothing of vipflow'}`,
  severity: 'error',
  from: { path },
  to: {
    path: '^(core|config|wire|actors|infra|workflows|notifiers|daemon|sim|lab|cli|bench|test)/',
    pathNot: [path, ...mayImport.map((m) => `^${m}`)],
  },
});

const PURE_FORBIDDEN = '^(node:)?(fs|fs/promises|net|dgram|child_process|worker_threads|cluster|http|https|tls|dns|os|readline)$';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'import loops make the flow impossible to follow', from: {}, to: { circular: true } },
    layer('core', '^core/', []),
    layer('config', '^config/', ['core/']),
    layer('pure-wire', '^wire/(codec|announce)/', ['core/', 'wire/codec/']),
    layer('actors', '^actors/', ['core/', 'config/', 'wire/codec/']),
    layer('wire-io', '^wire/(socket|hub|native)/', ['core/', 'wire/codec/', 'wire/socket/']),
    layer('infra', '^infra/', ['core/', 'config/', 'wire/', 'actors/']),
    layer('workflows', '^workflows/', ['core/', 'config/', 'actors/', 'infra/events/']),
    layer('notifiers', '^notifiers/', ['core/', 'config/', 'wire/', 'actors/', 'infra/', 'workflows/']),
    layer('daemon', '^daemon/', ['core/', 'config/', 'wire/', 'actors/', 'infra/', 'workflows/', 'notifiers/']),
    layer('sim', '^sim/', ['core/', 'config/', 'wire/', 'actors/', 'infra/', 'workflows/']),
    layer('lab', '^lab/', ['core/', 'config/', 'wire/', 'actors/', 'infra/', 'workflows/', 'notifiers/', 'daemon/']),
    layer('cli', '^cli/', ['core/', 'config/', 'wire/', 'actors/', 'infra/', 'workflows/', 'notifiers/', 'daemon/', 'sim/', 'lab/']),
    {
      name: 'infra-host-below-runners',
      comment: 'the host side and script running know nothing of the runners or the event system',
      severity: 'error',
      from: { path: '^infra/(host|scripts)/' },
      to: { path: '^infra/(vrrp|track|events)/' },
    },
    {
      name: 'infra-events-apart',
      comment: 'the event system does not reach into the host or the runners',
      severity: 'error',
      from: { path: '^infra/events/' },
      to: { path: '^infra/(host|scripts|vrrp|track)/' },
    },
    {
      name: 'pure-no-io',
      comment: 'actors/ and the pure wire code are tested without sockets, files or processes',
      severity: 'error',
      from: { path: '^(actors|wire/codec|wire/announce)/' },
      to: { dependencyTypes: ['core'], path: PURE_FORBIDDEN },
    },
    {
      name: 'pure-no-runtime-logger',
      comment: 'pure code may take a Logger (a type) but never create one',
      severity: 'error',
      from: { path: '^(actors|wire/codec|wire/announce)/' },
      to: { path: '^core/logger', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'engine-knows-no-notifier',
      comment: 'built-in steps are registered from notifiers/, the engine is handed the registry',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { path: '^notifiers/' },
    },
    { name: 'not-to-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|wire/native/build)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
