// The sweep's expected failures, each one line: a point the model refused, a worker lost, Redis
// out of reach.
import { ScenarioError } from '../scenario/locate.ts';
import { ScenarioRunError } from '../scenario/run.ts';
import { PolicyPluginError } from '../policy/plugin.ts';

/** A sweep that could not run to the end: one line. */
export class SweepRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SweepRunError';
  }
}

/** One line for an error: the message of an expected one, else the first line with its name. */
export function oneLine(e: unknown): string {
  if (e instanceof ScenarioError || e instanceof ScenarioRunError || e instanceof PolicyPluginError || e instanceof SweepRunError) return e.message.split('\n')[0];
  if (e instanceof Error) return `${e.name}: ${e.message.split('\n')[0]}`;
  return String(e);
}

/** A point that failed (on every attempt, on Redis): its position, key and one line. */
export interface PointFailure {
  readonly index: number;
  readonly key: string;
  readonly error: string;
}

/**
 * One line for the points that failed while the others ran to the end and were stored.
 * @returns a SweepRunError naming each failed point (the first three, then how many more)
 */
export function failedPoints(failures: readonly PointFailure[], total: number, how: string): SweepRunError {
  const sorted = [...failures].sort((a, b) => a.index - b.index);
  const shown = sorted.slice(0, 3).map((f) => `point ${f.index} (${f.key}): ${f.error}`).join('; ');
  const more = sorted.length > 3 ? `; and ${sorted.length - 3} more` : '';
  return new SweepRunError(`${sorted.length} of ${total} points failed${how}, the others are stored (rerun to retry the failed ones): ${shown}${more}`);
}
