// Identifiers for the hardware topology: devices, the links between them, and memory nodes.
// Each is a distinct brand so a LinkId can never be passed where a DeviceId is expected, even
// though all three are small integers at runtime.

declare const deviceIdBrand: unique symbol;
declare const linkIdBrand: unique symbol;
declare const nodeIdBrand: unique symbol;

/** A device (CPU socket, GPU, accelerator). Invariant: non-negative safe integer; an index. */
export type DeviceId = number & { readonly [deviceIdBrand]: true };

/** An interconnect link (PCIe, NVLink, CXL...). Invariant: non-negative safe integer; an index. */
export type LinkId = number & { readonly [linkIdBrand]: true };

/** A memory node (NUMA node or device-memory node). Invariant: non-negative safe integer. */
export type NodeId = number & { readonly [nodeIdBrand]: true };

function checkId(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${what}: expected a non-negative safe integer, got ${n}`);
  }
  return n;
}

/** Brands `n` as a DeviceId. @throws RangeError unless `n` is a non-negative safe integer. */
export function deviceId(n: number): DeviceId {
  return checkId(n, 'deviceId') as DeviceId;
}

/** Brands `n` as a LinkId. @throws RangeError unless `n` is a non-negative safe integer. */
export function linkId(n: number): LinkId {
  return checkId(n, 'linkId') as LinkId;
}

/** Brands `n` as a NodeId. @throws RangeError unless `n` is a non-negative safe integer. */
export function nodeId(n: number): NodeId {
  return checkId(n, 'nodeId') as NodeId;
}
