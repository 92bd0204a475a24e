import { describe, it, expect } from 'vitest';
import { parseTopologySpec, TopologySpecError } from '../../src/topology/spec.ts';
import { machine } from './fixtures.ts';

type Mutable = ReturnType<typeof machine> & Record<string, unknown>;
const mutate = (f: (m: Mutable) => void) => {
  const m = structuredClone(machine()) as Mutable;
  f(m);
  return m;
};
const errorOf = (input: unknown): TopologySpecError => {
  try {
    parseTopologySpec(input);
  } catch (e) {
    if (e instanceof TopologySpecError) return e;
    throw e;
  }
  throw new Error('expected a TopologySpecError');
};

describe('parseTopologySpec', () => {
  it('accepts the fixture and applies defaults', () => {
    const s = parseTopologySpec(machine());
    expect(s.rootComplexes[0].amdZen).toBe(false);
    expect(s.rootComplexes[0].rootPorts[0].acsRedirect).toBe(false);
    expect(s.switches[0].downstreamPorts[2].acsRedirect).toBe(true);
  });

  it('refuses unknown keys instead of ignoring them (an endpoint kind is not part of the model)', () => {
    const e = errorOf(mutate((m) => { (m.endpoints![0] as Record<string, unknown>).kind = 'gpu'; }));
    expect(e.issues).toEqual(['endpoints[0]: Unrecognized key: "kind"']);
  });

  it('names an unknown parent port with its path', () => {
    const e = errorOf(mutate((m) => { m.endpoints![1].parent = 'dsp9'; }));
    expect(e.issues).toEqual(["endpoints[1].parent: unknown parent port 'dsp9' for endpoint 'nic0'"]);
    expect(e.message).toContain("invalid topology:\n  - endpoints[1].parent: unknown parent port 'dsp9'");
  });

  it('reports duplicate ids across kinds', () => {
    const e = errorOf(mutate((m) => { m.endpoints![0].id = 'rp1'; }));
    expect(e.issues).toContain("endpoints[0].id: duplicate id 'rp1' (already used by a root port)");
  });

  it('rejects attaching to a switch upstream port', () => {
    const e = errorOf(mutate((m) => { m.endpoints![0].parent = 'usp0'; }));
    expect(e.issues).toEqual(["endpoints[0].parent: parent 'usp0' of endpoint 'gpu0' is a switch upstream port; attach to a root port or switch downstream port"]);
  });

  it('rejects switch cycles', () => {
    const e = errorOf(mutate((m) => {
      m.switches!.push({ id: 'sw1', parent: 'dsp1', gen: 4, width: 16, upstreamPort: { id: 'usp1' }, downstreamPorts: [{ id: 'dsp10' }] });
      m.switches![0].parent = 'dsp10';
    }));
    expect(e.issues).toContain("switches[0].parent: switch 'sw0' is its own ancestor (cycle sw0 -> sw1 -> sw0)");
  });

  it('reports bad link ends, unknown sockets and duplicate link pairs together', () => {
    const e = errorOf(mutate((m) => {
      m.links!.push({ id: 'nv9', kind: 'nvlink', a: 'gpu5', b: 'gpu3', bandwidth: 1e9, latencyPs: 1 });
      m.links!.push({ id: 'bad', kind: 'cxl', a: 'gpu0', b: 'rp0', bandwidth: 1e9, latencyPs: 1 });
      m.rootComplexes![1].socket = 's7';
    }));
    expect(e.issues).toEqual([
      "rootComplexes[1].socket: unknown socket 's7' for root complex 'rc1'",
      "links[3]: link 'nv9' duplicates link 'nv0' between 'gpu5' and 'gpu3'; declare bonded links once with the aggregate bandwidth",
      "links[4].b: link 'bad' end 'rp0' is a root port; private links join endpoints and sockets",
    ]);
  });

  it('reports field-level problems with their path', () => {
    const e = errorOf(mutate((m) => {
      (m.endpoints![0] as Record<string, unknown>).gen = 7;
      (m.links![0] as Record<string, unknown>).bandwidth = 0;
    }));
    expect(e.issues.some((s) => s.startsWith('endpoints[0].gen: '))).toBe(true);
    expect(e.issues.some((s) => s.startsWith('links[0].bandwidth: '))).toBe(true);
  });

  it('requires amdZen to agree across root complexes', () => {
    const e = errorOf(mutate((m) => { m.rootComplexes![0].amdZen = true; }));
    expect(e.issues).toEqual(['rootComplexes: amdZen must be the same on every root complex (it describes the CPU, which is system-wide)']);
  });

  it('rejects ids that could collide with derived node ids', () => {
    const e = errorOf(mutate((m) => { m.sockets[0].id = 'mem:s0'; }));
    expect(e.issues[0]).toMatch(/^sockets\[0\]\.id: id must be non-empty/);
  });
});
