/**
 * The command table: each command's definition (cli/definitions.ts) with its
 * action, which imports the command's module only when it runs, so
 * `vipflow status` does not pay for the daemon's imports and a broken
 * optional part cannot stop the others. Add a command's definition there,
 * its action here, and its module under cli/.
 */
import { Command } from '@commander-js/extra-typings';
import { exitCodesHelp } from './exit-codes.js';
import {
  checkConfigDefinition,
  completionDefinition,
  convertDefinition,
  demoDefinition,
  eventsDefinition,
  fleetDefinition,
  fleetSetupDefinition,
  genhashDefinition,
  runDefinition,
  statusDefinition,
  workerDefinition,
  workflowsTestDefinition,
} from './definitions.js';
import { simulateDefinition } from './definitions.js';

/** What a command's action reports back: its exit code. */
export type Done = (code: number) => void;

export function runCommand(done: Done) {
  return runDefinition().action(async (opts) => done(await (await import('./run.js')).runDaemon(opts)));
}

export function demoCommand(done: Done) {
  return demoDefinition().action(async (opts) => done(await (await import('./demo.js')).runDemo(opts)));
}

export function statusCommand(done: Done) {
  return statusDefinition().action(async (opts) => done(await (await import('./status.js')).showStatus(opts)));
}

export function checkConfigCommand(done: Done) {
  return checkConfigDefinition().action(async (file, opts) => done(await (await import('./check-config.js')).checkConfig(file, opts)));
}

export function convertCommand(done: Done) {
  return convertDefinition().action(async (file, opts) => done(await (await import('./convert.js')).convert(file, opts)));
}

export function eventsCommand(done: Done) {
  return eventsDefinition().action(async (opts) => done(await (await import('./events.js')).printEvents(opts)));
}

export function fleetSetupCommand(done: Done) {
  return fleetSetupDefinition().action(async (opts) => done(await (await import('./fleet.js')).setupFleet(opts)));
}

export function fleetCommand(done: Done) {
  return fleetDefinition()
    .action(async (opts) => done(await (await import('./fleet.js')).showFleet(opts)))
    .addCommand(fleetSetupCommand(done));
}

export function workflowsTestCommand(done: Done) {
  return workflowsTestDefinition().action(async (opts) => done(await (await import('./workflows.js')).testWorkflows(opts)));
}

export function workflowsCommand(done: Done) {
  return new Command('workflows')
    .summary('dry-run workflows against a hand-written event (workflows test --workflows FILE --event EVENT.json)')
    .description('Workflow tools. Without a subcommand this help is printed (on stdout) and the exit code is 2.')
    .addHelpText('after', exitCodesHelp({ 2: 'no subcommand, or an unknown one' }, [2]))
    .addCommand(workflowsTestCommand(done));
}

export function genhashCommand(done: Done) {
  return genhashDefinition().action(async (opts) => done(await (await import('./genhash.js')).genhash(opts)));
}

export function workerCommand(done: Done) {
  return workerDefinition().action(async (opts) => done(await (await import('./worker.js')).runWorker(opts)));
}

export function completionCommand(done: Done) {
  return completionDefinition().action(async (shell, _opts, cmd) => done(await (await import('./completion.js')).printCompletion(shell, cmd.parent ?? cmd)));
}

export function simulateCommand(done: Done) {
  return simulateDefinition().action(async (scenario, opts) => done(await (await import('./simulate.js')).simulate(scenario, opts)));
}

/** Every subcommand, in the order help lists them. */
export function allCommands(done: Done) {
  return [
    runCommand(done),
    demoCommand(done),
    statusCommand(done),
    checkConfigCommand(done),
    convertCommand(done),
    eventsCommand(done),
    fleetCommand(done),
    workflowsCommand(done),
    genhashCommand(done),
    workerCommand(done),
    simulateCommand(done),
    completionCommand(done),
  ];
}
