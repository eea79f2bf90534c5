import { ALL_SHAPES, QUICK_SHAPES } from '../core/shapes.js';
import type { Scenario } from './scenario.js';

/** Inference forward: moving statistics folded into one scale and shift per channel. */
export const inferScenario: Scenario = {
  op: 'infer',
  title: 'Inference forward (moving statistics)',
  traffic: '8 B/element: read x, write y',
  shapes: ALL_SHAPES,
  quickShapes: QUICK_SHAPES,
};
