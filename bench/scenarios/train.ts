import { ALL_SHAPES, QUICK_SHAPES } from '../core/shapes.js';
import type { Scenario } from './scenario.js';

/** Training forward: batch statistics (mean, biased variance) then the normalized output. */
export const trainScenario: Scenario = {
  op: 'train',
  title: 'Training forward (batch statistics)',
  traffic: '12 B/element: read x for the statistics, read x again, write y',
  shapes: ALL_SHAPES,
  quickShapes: QUICK_SHAPES,
};
