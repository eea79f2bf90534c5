import { ALL_SHAPES, QUICK_SHAPES } from '../core/shapes.js';
import type { Scenario } from './scenario.js';

/** Backward through the batch statistics: dx, dgamma, dbeta. */
export const backwardScenario: Scenario = {
  op: 'backward',
  title: 'Backward (dx, dgamma, dbeta through the batch statistics)',
  traffic: '20 B/element: read dy and x for the two channel sums, read them again, write dx',
  shapes: ALL_SHAPES,
  quickShapes: QUICK_SHAPES,
};
