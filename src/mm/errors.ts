/**
 * The kernel oopsed inside an operation: a real Linux 6.1 bug the model reproduces (test_hmm
 * kmap()ing a device-private struct page; a migration entry left behind by try_to_migrate on a
 * device-exclusive entry). Nothing after it runs.
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

/**
 * No NUMA node the allocation may use has room (every node's memory is bounded and full). Linux
 * would start the OOM killer; the model stops the run with this instead.
 */
export class OutOfMemory extends Error {
  constructor(why: string) {
    super(`out of memory: ${why}`);
  }
}
