/** The kernel backends, fastest first (`auto` takes the first that loads): one list for the selector and the pipeline file's schema. */
export const KERNEL_BACKENDS = ['native', 'wasm', 'reference'] as const;
export type KernelBackendName = (typeof KERNEL_BACKENDS)[number];
