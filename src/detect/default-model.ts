import { fileURLToPath } from 'node:url';

/** The bundled model: `<repo>/models/xnorcam-traffic.xnor` (trained by the model pipeline; may not exist yet). */
export function defaultModelPath(): string {
  // This file is dist/detect/default-model.js (or src/detect/*.ts under vitest): the repo is two levels up.
  return fileURLToPath(new URL('../../models/xnorcam-traffic.xnor', import.meta.url));
}
