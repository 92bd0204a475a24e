import type { System } from '../../mm/system.ts';
import type { Mm } from '../../mm/mm.ts';
import { DmirrorDevice } from './device.ts';
import { Dmirror } from './dmirror.ts';

/** DMIRROR_NDEVICES. */
export const DMIRROR_NDEVICES = 4;

/**
 * The test_hmm module as Linux 6.1 boots it for the golden traces: devices 0 and 1 with
 * device-private memory, 2 and 3 with device-coherent memory, one 256 MiB chunk each.
 */
export class DmirrorDriver {
  readonly devices: DmirrorDevice[];
  /** @param withDevices false for a machine without the test_hmm module (timed runs). */
  constructor(readonly sys: System, withDevices = true) {
    this.devices = withDevices ? [0, 1, 2, 3].map((i) => new DmirrorDevice(sys, i, i < 2 ? 'private' : 'coherent')) : [];
  }
  /** open("/dev/hmm_dmirrorN") by a process: a new mirror of its address space. */
  open(dev: number, mm: Mm): Dmirror {
    return new Dmirror(this.devices[dev], mm);
  }
}
