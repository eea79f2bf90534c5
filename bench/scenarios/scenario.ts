/**
 * A scenario table: one op, the shapes it runs on, and what its traffic
 * model counts. One file per op (bench/scenarios/<op>.ts) holds the table.
 */
import type { BenchShape, Op } from '../core/types.js';

export interface Scenario {
  op: Op;
  /** Table and chart heading. */
  title: string;
  /** What the traffic model counts for this op, for the report. */
  traffic: string;
  /** Shapes of a full run, and of `--quick`. */
  shapes: readonly BenchShape[];
  quickShapes: readonly BenchShape[];
}
