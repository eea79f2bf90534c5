import { backwardScenario } from './backward.js';
import { inferScenario } from './infer.js';
import type { Scenario } from './scenario.js';
import { trainScenario } from './train.js';

export type { Scenario } from './scenario.js';

/** Every scenario, in the order of the report. */
export const SCENARIOS: readonly Scenario[] = [inferScenario, trainScenario, backwardScenario];
