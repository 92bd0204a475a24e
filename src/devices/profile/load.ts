// Loading device profiles from YAML, with errors that point at the offending line:
// "FILE:LINE:COL: what was expected" (units/yaml-located.ts maps zod issue paths to YAML nodes).
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Node } from 'yaml';
import { transferTimePs } from '../../units/transfer.ts';
import type { TimePs } from '../../units/time.ts';
import { PS_PER_S } from '../../units/time.ts';
import { describeNode, YamlFileError, YamlSource, type YamlStyle } from '../../units/yaml-located.ts';
import { pcieBandwidth } from '../../topology/pcie.ts';
import { checkSources, ProfileSchema, type Profile } from './schema.ts';
import { precompiledProfile, PROFILES_DIR } from './precompiled.ts';

export { describeNode, EXPECTED } from '../../units/yaml-located.ts';

export { PROFILES_DIR } from './precompiled.ts';

/** A profile that failed to parse or validate: one `FILE:LINE:COL: ...` line per problem (see YamlFileError). */
export class ProfileError extends YamlFileError {
  constructor(issues: readonly string[]) {
    super(issues, 'invalid profile');
  }
}

/** Profiles use no anchors and keep the wording they had before scenarios generalised it. */
const PROFILE_STYLE: YamlStyle = { error: ProfileError };

/**
 * Parses and validates a profile from YAML text.
 * @param fileName used only in error messages
 * @throws ProfileError with one `FILE:LINE:COL: ...` line per problem (message = the first)
 */
export function parseProfile(text: string, fileName: string): Profile {
  return parseChecked(text, fileName, undefined);
}

function parseChecked(text: string, fileName: string, expectName: string | undefined): Profile {
  // Text validated at build time (precompiled.ts) needs no second parse; a name that does not
  // match still goes through the parse below, which says so.
  const built = precompiledProfile(text);
  if (built !== undefined && (expectName === undefined || built.name === expectName)) return built;
  const src: YamlSource = YamlSource.parse(text, fileName, PROFILE_STYLE); // typed, so that src.fail() narrows
  const raw = src.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    src.fail([src.locate({ path: [], message: `expected a mapping of profile fields at the top level, got ${describeNode(src.doc.contents as Node | null)}` })]);
  }
  const r = ProfileSchema.safeParse(raw);
  if (!r.success) src.fail(src.zodIssues(ProfileSchema, raw, r.error.issues));
  const sourceIssues = checkSources(raw);
  if (expectName !== undefined && r.data.name !== expectName) {
    sourceIssues.push({ path: ['name'], message: `name "${r.data.name}" must match the file name "${expectName}"` });
  }
  if (sourceIssues.length > 0) src.fail(src.zodIssues(ProfileSchema, raw, sourceIssues));
  return r.data;
}

/** Reads and validates one profile file. @throws ProfileError (see parseProfile) */
export function loadProfile(path: string): Profile {
  return parseProfile(readFileSync(path, 'utf8'), path);
}

/**
 * Loads every `*.yaml` profile in `dir` (default: the shipped profiles), sorted by name.
 * @throws ProfileError if a file is invalid or its `name` differs from its file name (which also
 *   keeps names unique)
 */
export function listProfiles(dir: string = PROFILES_DIR): Profile[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  const out: Profile[] = [];
  for (const f of files) {
    const path = join(dir, f);
    out.push(parseChecked(readFileSync(path, 'utf8'), path, basename(f, '.yaml')));
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Direction of a host-link transfer. */
export type Direction = 'h2d' | 'd2h';

/**
 * Peak bandwidth of the host link in one direction, bytes/s: the declared per-direction figure,
 * else the usable PCIe payload bandwidth of the declared generation and width.
 */
export function linkBandwidth(profile: Profile, direction: Direction = 'h2d'): number {
  const l = profile.link;
  const declared = direction === 'h2d' ? l.hostToDevice : l.deviceToHost;
  if (declared !== undefined) return declared;
  if (l.pcie !== undefined) return pcieBandwidth(l.pcie.gen, l.pcie.width);
  // Unreachable for validated profiles (the schema requires one or the other).
  throw new RangeError(`profile ${profile.name}: link has no bandwidth`);
}

/**
 * Effective bandwidth, bytes/s, of one host↔device transfer of `size` bytes.
 *
 * With a transfer curve: linear in log(size) between neighbouring points, so each published
 * point is reproduced exactly; clamped to the first/last point outside the curve. The curve
 * is direction-independent.
 *
 * Without one: size / (setup + size / peak), where peak is the link bandwidth in `direction`
 * (capped by one copy engine's bandwidth if declared) and setup is the copy engines' per-transfer
 * setup latency (or the link latency for devices without copy engines).
 * @throws RangeError unless `size` is a positive finite number
 */
export function effectiveBandwidth(profile: Profile, size: number, direction: Direction = 'h2d'): number {
  if (!(size > 0) || !Number.isFinite(size)) throw new RangeError(`effectiveBandwidth: size must be positive and finite, got ${size}`);
  const curve = profile.transferCurve;
  if (curve !== undefined && curve.length > 0) {
    if (size <= curve[0].size) return curve[0].bandwidth;
    const last = curve[curve.length - 1];
    if (size >= last.size) return last.bandwidth;
    let i = 1;
    while (curve[i].size < size) i++;
    const a = curve[i - 1];
    const b = curve[i];
    const t = (Math.log(size) - Math.log(a.size)) / (Math.log(b.size) - Math.log(a.size));
    return a.bandwidth + t * (b.bandwidth - a.bandwidth);
  }
  let peak = linkBandwidth(profile, direction);
  const ce = profile.copyEngines;
  if (ce?.bandwidth !== undefined) peak = Math.min(peak, ce.bandwidth);
  const setupPs = ce !== undefined ? ce.setupLatency : profile.link.latency;
  return size / (setupPs / PS_PER_S + size / peak);
}

/** Time for one transfer of `size` bytes at effectiveBandwidth, integer ps rounded up. */
export function transferTime(profile: Profile, size: number, direction: Direction = 'h2d'): TimePs {
  if (size === 0) return 0 as TimePs;
  return transferTimePs(size, effectiveBandwidth(profile, size, direction));
}
