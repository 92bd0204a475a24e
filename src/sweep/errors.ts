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
