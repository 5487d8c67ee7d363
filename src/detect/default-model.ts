import { fileURLToPath } from 'node:url';

// This file is dist/detect/default-model.js (or src/detect/*.ts under vitest): the repo is two levels up.
const bundled = (file: string): string => fileURLToPath(new URL(`../../models/${file}`, import.meta.url));

/** The bundled model: `<repo>/models/xnorcam-traffic.xnor` (trained by the model pipeline; may not exist yet). */
export function defaultModelPath(): string {
  return bundled('xnorcam-traffic.xnor');
}

/**
 * The training checkpoint `xnorcam specialise` starts a student from when given no `--base`: the bundled
 * 640×384 model's (`models/xnorcam-traffic.pt`). Students from it at a 512-wide input agreed with their teacher
 * better than 320×192 students from `models/xnorcam-traffic-320.pt` given the same or more CPU minutes
 * (docs/specialise.md): the larger model needs far fewer steps to learn one view.
 */
export function specialiseBasePath(): string {
  return bundled('xnorcam-traffic.pt');
}
