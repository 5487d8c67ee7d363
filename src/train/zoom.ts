import { UserError } from '../core/errors.js';

/** The trainer's --zoom range (training/train.py checks the same). */
export const MAX_ZOOM = 3;

/**
 * The largest random zoom-in of a training image, for the trainer's --zoom: 1 (none) up to MAX_ZOOM.
 * Checked here so `xnorcam specialise` refuses a bad value before it samples and labels frames.
 */
export function parseZoom(flag: string, text: string): number {
  const z = Number(text);
  if (text.trim() === '' || !Number.isFinite(z) || z < 1 || z > MAX_ZOOM) throw new UserError(`${flag} ${text}: expected a number from 1 (no zoom) to ${MAX_ZOOM}`, 2);
  return z;
}
