import { fileURLToPath } from 'node:url';

// This file is dist/detect/default-model.js (or src/detect/*.ts under vitest): the repo is two levels up.
const bundled = (file: string): string => fileURLToPath(new URL(`../../models/${file}`, import.meta.url));

/** The bundled model: `<repo>/models/xnorcam-traffic.xnor` (trained by the model pipeline; may not exist yet). */
export function defaultModelPath(): string {
  return bundled('xnorcam-traffic.xnor');
}

/**
 * The training checkpoint `xnorcam specialise` starts a student from when given no `--base`: the bundled
 * 320×192 model's (`models/xnorcam-traffic-320.pt`), not the 640×384 default detector's. A student trains on the
 * camera host's CPU within minutes, and a 640×384 step costs about seven times a 320×192 one there (3.7 against
 * 27 images/s on the 2-core reference machine), so the small input learns the one view in far more steps.
 */
export function specialiseBasePath(): string {
  return bundled('xnorcam-traffic-320.pt');
}
