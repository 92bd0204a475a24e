// `hetmem profiles [NAME...] [--sources]`. Kept apart from run.ts so that listing profiles loads
// neither the timed model nor, in the compiled CLI, yaml and zod: the profiles come from the
// table validated at build time (devices/profile/precompiled.ts); only a profile whose text is
// not in it (an edited profiles/*.yaml, or running from the sources) loads the parser.
import { precompiledProfiles, PROFILES_DIR } from '../devices/profile/precompiled.ts';
import type { Profile } from '../devices/profile/schema.ts';
import { isEstimate } from '../devices/profile/sources.ts';
import { pcieBandwidth } from '../topology/pcie.ts';
import { formatBytes } from '../units/bytes.ts';
import { formatColumns, formatRate } from '../report/format.ts';
import type { Io } from './run.ts';

function linkText(p: Profile): string {
  const l = p.link;
  // Measured per-direction bandwidths, when the profile gives them, are what copies use.
  const rate = l.hostToDevice !== undefined
    ? (l.hostToDevice === l.deviceToHost ? formatRate(l.hostToDevice) : `${formatRate(l.hostToDevice)} H2D, ${formatRate(l.deviceToHost!)} D2H`)
    : l.pcie ? formatRate(pcieBandwidth(l.pcie.gen, l.pcie.width)) : formatRate(0);
  const host = l.pcie ? `PCIe ${l.pcie.gen}.0 x${l.pcie.width} (${rate})` : `${l.kind} ${rate}`;
  return l.peer ? `${host} + ${l.peer.kind} ${formatRate(l.peer.bandwidth)}` : host;
}

/**
 * The shipped profiles, from the build-time table when it holds every file as it is now, else
 * parsed. Bad input (an invalid profile) is one line on `io.err` and undefined.
 */
async function shipped(io: Io): Promise<Profile[] | undefined> {
  const built = precompiledProfiles();
  if (built !== undefined) return built;
  const { listProfiles, ProfileError } = await import('../devices/profile/load.ts');
  try {
    return listProfiles();
  } catch (e) {
    if (!(e instanceof ProfileError)) throw e;
    io.err.write(`hetmem profiles: ${e.message.split('\n')[0]}\n`);
    return undefined;
  }
}

/**
 * `hetmem profiles [NAME...] [--sources]`: the shipped device profiles and where their numbers
 * come from. Returns the exit code: 0, or 2 (one line on `io.err`) for an unknown name or an
 * invalid profile.
 */
export async function profilesCommand(names: readonly string[], o: { sources?: boolean }, io: Io): Promise<number> {
  const all = await shipped(io);
  if (all === undefined) return 2;
  const unknown = names.filter((n) => !all.some((p) => p.name === n));
  if (unknown.length > 0) {
    io.err.write(`hetmem profiles: unknown profile ${unknown.map((n) => `"${n}"`).join(', ')} (shipped profiles: ${all.map((p) => p.name).join(', ')})\n`);
    return 2;
  }
  const shown = names.length > 0 ? all.filter((p) => names.includes(p.name)) : all;
  const rows = shown.map((p) => {
    const src = Object.values(p.sources);
    const est = src.filter(isEstimate).length;
    return [p.name, p.kind, p.driver, formatBytes(p.memory.capacity), linkText(p), `${src.length - est} cited, ${est} estimated`, p.description];
  });
  let text = `device profiles in ${PROFILES_DIR}\n\n` +
    formatColumns([['name', 'kind', 'driver', 'memory', 'link', 'sources', 'description'], ...rows], ['left', 'left', 'left', 'right', 'left', 'left', 'left']) + '\n';
  if (o.sources) {
    for (const p of shown) {
      text += `\n${p.name} (profiles/${p.name}.yaml)\n`;
      text += formatColumns(Object.entries(p.sources).map(([k, v]) => [k, v]), [], '  ') + '\n';
    }
  } else {
    text += '\n(hetmem profiles --sources lists the source of every number)\n';
  }
  io.out.write(text);
  return 0;
}
