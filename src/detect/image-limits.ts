/**
 * The largest picture xnorcam decodes: 50 megapixels, above any camera's frame (8K is 33) and any photo
 * a detector is run on, below the size where a small, highly compressed file (a decompression bomb: an
 * 800 KB PNG of 16383² pixels) would take gigabytes once decoded and converted to floats.
 */
export const MAX_IMAGE_PIXELS = 50_000_000;

export function tooLarge(width: number, height: number): string {
  return `${width}x${height} pixels is more than xnorcam decodes (${MAX_IMAGE_PIXELS / 1e6} megapixels)`;
}
