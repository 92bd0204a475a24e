// The kernel failure modes live with the core (mm/errors.ts): the mm model raises them too.
export { KernelCrash, KernelHang } from '../../mm/errors.ts';
