import { classColor, LINE_COLOR, ZONE_COLOR } from './colors.js';
import type { Detection, SourceOverlay, Track } from './protocol.js';

/** Source pixels → canvas pixels, plus sizes that stay readable whatever the canvas resolution. */
export interface Scale {
  sx: number;
  sy: number;
  line: number;
  font: number;
}

export function scaleFor(canvas: HTMLCanvasElement, sourceWidth: number, sourceHeight: number): Scale {
  const font = Math.max(13, Math.round(canvas.height / 28));
  return { sx: canvas.width / sourceWidth, sy: canvas.height / sourceHeight, line: Math.max(2, Math.round(canvas.height / 180)), font };
}

export function drawZonesAndLines(g: CanvasRenderingContext2D, overlay: SourceOverlay, s: Scale): void {
  g.save();
  g.font = `600 ${s.font * 0.8}px system-ui, sans-serif`;
  for (const z of overlay.zones) {
    if (z.polygon.length < 3) continue;
    g.beginPath();
    z.polygon.forEach(([x, y], i) => (i ? g.lineTo(x * s.sx, y * s.sy) : g.moveTo(x * s.sx, y * s.sy)));
    g.closePath();
    g.fillStyle = 'rgba(179, 136, 255, 0.14)';
    g.fill();
    g.setLineDash([s.line * 3, s.line * 2]);
    g.strokeStyle = ZONE_COLOR;
    g.lineWidth = s.line;
    g.stroke();
    g.setLineDash([]);
    const [x0, y0] = z.polygon[0];
    label(g, z.name, x0 * s.sx, y0 * s.sy, ZONE_COLOR, s.font * 0.8);
  }
  for (const l of overlay.lines) {
    const [[x1, y1], [x2, y2]] = l.points;
    const ax = x1 * s.sx, ay = y1 * s.sy, bx = x2 * s.sx, by = y2 * s.sy;
    g.strokeStyle = LINE_COLOR;
    g.lineWidth = s.line * 1.5;
    g.beginPath();
    g.moveTo(ax, ay);
    g.lineTo(bx, by);
    g.stroke();
    // "forward" = crossing from the left of p0→p1 to its right (docs/tracking.md). In screen
    // coordinates (y down) the right-hand normal of (dx, dy) is (−dy, dx); the arrow points along it.
    const len = Math.hypot(bx - ax, by - ay) || 1;
    const ux = (bx - ax) / len, uy = (by - ay) / len;
    const nx = -uy, ny = ux;
    const mx = (ax + bx) / 2, my = (ay + by) / 2, a = s.font * 1.2;
    g.beginPath();
    g.moveTo(mx, my);
    g.lineTo(mx + nx * a, my + ny * a);
    g.stroke();
    g.beginPath();
    g.moveTo(mx + nx * a * 1.4, my + ny * a * 1.4);
    g.lineTo(mx + nx * a + ux * a * 0.3, my + ny * a + uy * a * 0.3);
    g.lineTo(mx + nx * a - ux * a * 0.3, my + ny * a - uy * a * 0.3);
    g.closePath();
    g.fillStyle = LINE_COLOR;
    g.fill();
    label(g, l.name, ax, ay, LINE_COLOR, s.font * 0.8);
  }
  g.restore();
}

/** Trails of the tracks in this frame (ids), so a vehicle that left takes its trail with it. */
export function drawTrails(g: CanvasRenderingContext2D, trails: Map<number, { className: string; points: [number, number][] }>, ids: number[], s: Scale): void {
  g.save();
  g.lineWidth = s.line;
  g.lineJoin = 'round';
  for (const id of ids) {
    const t = trails.get(id);
    if (!t || t.points.length < 2) continue;
    g.strokeStyle = classColor(t.className);
    g.globalAlpha = 0.8;
    g.beginPath();
    t.points.forEach(([x, y], i) => (i ? g.lineTo(x * s.sx, y * s.sy) : g.moveTo(x * s.sx, y * s.sy)));
    g.stroke();
  }
  g.restore();
}

/**
 * One box with its label above it: "car #12 54 km/h" (the score too when `withScore`, for checking
 * a model). Raw detections (the optional debug layer) are thin and dashed, so tracked objects stay
 * the loudest thing.
 */
export function drawBox(g: CanvasRenderingContext2D, item: Track | Detection, s: Scale, opts: { raw?: boolean; withScore?: boolean } = {}): string {
  const raw = opts.raw ?? false;
  const [x1, y1, x2, y2] = item.box;
  const color = classColor(item.className);
  const id = 'id' in item ? ` #${item.id}` : '';
  const speed = 'speedKmh' in item && item.speedKmh !== undefined ? ` ${Math.round(item.speedKmh)} km/h` : '';
  const score = opts.withScore ? ` ${Math.round(item.score * 100)}%` : '';
  const text = `${item.className}${id}${score}${speed}`;
  g.save();
  g.strokeStyle = color;
  g.lineWidth = raw ? Math.max(1, s.line / 2) : s.line;
  if (raw) g.setLineDash([s.line * 2, s.line * 2]);
  g.strokeRect(x1 * s.sx, y1 * s.sy, (x2 - x1) * s.sx, (y2 - y1) * s.sy);
  g.restore();
  if (!raw) label(g, text, x1 * s.sx - s.line / 2, y1 * s.sy - s.line / 2, color, s.font);
  return text;
}

/** Black text on a filled tag, placed above (x, y) or inside the image when there is no room. */
function label(g: CanvasRenderingContext2D, text: string, x: number, y: number, color: string, font: number): void {
  g.save();
  g.font = `700 ${font}px system-ui, sans-serif`;
  const w = g.measureText(text).width + font * 0.5;
  const h = font * 1.25;
  const top = y - h < 0 ? y : y - h;
  const left = Math.min(Math.max(0, x), g.canvas.width - w);
  g.fillStyle = color;
  g.fillRect(left, top, w, h);
  g.fillStyle = '#000';
  g.textBaseline = 'middle';
  g.fillText(text, left + font * 0.25, top + h / 2 + 1);
  g.restore();
}
