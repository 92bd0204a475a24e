/** Something a workload asked that the machine refuses at run time (a CPU touch the kernel answers with a signal). */
export class SimRunError extends Error {}
