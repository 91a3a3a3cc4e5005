/** The built-in nginx notifier: test, reload and verify nginx on a transition. */
export { nginxOptionsSchema, parseNginxOptions, type NginxOptions, type ResolvedNginxOptions } from './options.js';
export { nginxReloadStep, reloadNginx, type NginxReloadReport } from './step.js';
export {
  checkGeneration,
  healthAccepted,
  nginxArgv,
  parsePidFile,
  parseProcStat,
  testFailureText,
  workerFromCmdline,
  type GenerationCheck,
  type WorkerProcess,
} from './generation.js';
