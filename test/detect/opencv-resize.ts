/**
 * An approximation of OpenCV's resize(INTER_LINEAR) on 8-bit RGB (half-pixel centres, edge clamp,
 * result rounded to bytes), used only to feed the network the way the OpenCV reference run did,
 * so that its detections can be compared with tight tolerances. The product uses darknet's resize.
 */
export function opencvResizeLinear(rgb: Uint8Array, width: number, height: number, W: number, H: number): Uint8Array {
  const out = new Uint8Array(W * H * 3);
  const coord = (d: number, scale: number, n: number): [number, number, number] => {
    let fpos = (d + 0.5) * scale - 0.5;
    let i = Math.floor(fpos);
    fpos -= i;
    if (i < 0) {
      i = 0;
      fpos = 0;
    }
    if (i >= n - 1) {
      i = n - 1;
      fpos = 0;
    }
    return [i, Math.min(i + 1, n - 1), fpos];
  };
  const xs = Array.from({ length: W }, (_, x) => coord(x, width / W, width));
  for (let y = 0; y < H; y++) {
    const [y0, y1, fy] = coord(y, height / H, height);
    for (let x = 0; x < W; x++) {
      const [x0, x1, fx] = xs[x];
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => rgb[(yy * width + xx) * 3 + c];
        const top = (1 - fx) * p(y0, x0) + fx * p(y0, x1);
        const bottom = (1 - fx) * p(y1, x0) + fx * p(y1, x1);
        out[(y * W + x) * 3 + c] = Math.round((1 - fy) * top + fy * bottom);
      }
    }
  }
  return out;
}

export type Xyxy = [number, number, number, number];

export function iou(a: Xyxy | number[], b: Xyxy | number[]): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}
