/**
 * The kernel oopsed inside an operation (a real Linux 6.1 test_hmm bug reproduced by the model:
 * the driver kmap()s a device-private struct page). Nothing after it runs.
 */
export class KernelCrash extends Error {
  constructor(why: string) {
    super(`kernel crash: ${why}`);
  }
}

/** The operation would never return (memunmap_pages waiting for a page that cannot be freed). */
export class KernelHang extends Error {
  constructor(why: string) {
    super(`kernel hang: ${why}`);
  }
}
