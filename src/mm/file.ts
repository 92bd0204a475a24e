/**
 * A shmem/tmpfs inode: the page cache behind `shared` (MAP_SHARED|MAP_ANONYMOUS), `file` and
 * `file_private` mappings. Pages are found by file page offset; holes read as zeroes and
 * are filled on first fault.
 */
export class ShmemFile {
  /** page offset -> pfn of the page cache page (holding one reference). */
  readonly pages = new Map<number, number>();
  /** Open references: fds and VMAs. The inode's pages are freed when it drops to zero. */
  refs = 0;
  constructor(public readonly id: number, public size: number) {}
  mapGet(): void {
    this.refs++;
  }
}
