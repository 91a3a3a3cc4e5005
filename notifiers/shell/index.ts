/** The shell notifier: a zx script (or any executable) run with the event in its environment. */
export { shellScriptStep, shellScriptOptionsSchema, scriptArgv, type ShellScriptOptions } from './step.js';
export { scriptEnvironment, keepalivedStateName, type ScriptContext } from './env.js';
