/** Scenarios for `vipflow simulate`: the file's shape, the engine, the expectations and the report. */
export { defineScenario, parseScenario, parseDuration, ScenarioSchema, type Scenario, type ScenarioInput, type Fault, type Expectation } from './model.js';
export { inlineConfig, nodeInterfaces, startScripts, checkReferences, type PreparedNode, type PreparedScenario } from './prepare.js';
export { runScenario, type SimResult, type TimelineLine, type WorkflowRun, type SimTransition } from './run.js';
export { checkExpectations, lineText, type Outcome } from './expect.js';
export { formatText, formatJson } from './format.js';
