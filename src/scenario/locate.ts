// Errors that point at the YAML, `FILE:LINE:COL: what was expected`: the scenario style of
// units/yaml-located.ts, which device profiles share. The rest of scenario/ imports it from here.
import { YamlFileError, type YamlStyle } from '../units/yaml-located.ts';

export {
  allowedKeys, describeNode, formatPath, nearKey, schemaAt, YamlSource,
  type Located, type Path, type PathIssue,
} from '../units/yaml-located.ts';

/** A scenario that failed to parse, validate or resolve: one `FILE:LINE:COL: ...` line per problem (see YamlFileError). */
export class ScenarioError extends YamlFileError {
  constructor(issues: readonly string[]) {
    super(issues, 'invalid scenario');
  }
}

/**
 * Scenarios share workloads and devices through anchors and merge keys, and their unions and
 * nested workloads need the schema's help to say what was meant, so every YamlStyle flag is on.
 */
export const SCENARIO_STYLE: YamlStyle = { error: ScenarioError, anchors: true, fuzzyKeys: true, detailed: true, missingAtNearest: true };
