/**
 * A pinhole camera over a flat ground plane. World frame: x east (across the main road), y north
 * (along it), z up, metres. Sizes and speeds in the images follow from this model, so the video's
 * true speeds and calibration points are exact.
 */
export type Vec3 = [number, number, number];

export interface CameraPose {
  /** Camera centre, metres (z = mounting height). */
  position: Vec3;
  /** Heading: 0 looks north (+y), positive turns towards east (+x), radians. */
  yaw: number;
  /** Downward tilt, radians (positive looks down). */
  pitch: number;
  roll: number;
}

export class Camera {
  readonly right: Vec3;
  readonly down: Vec3;
  readonly forward: Vec3;
  readonly cx: number;
  readonly cy: number;

  /**
   * fx and fy differ when a wide (e.g. 16:9) view is squeezed into a square image, as a detector
   * that resizes without letterboxing sees it.
   */
  constructor(readonly pose: CameraPose, readonly width: number, readonly height: number, readonly fx: number, readonly fy: number) {
    const { yaw, pitch, roll } = pose;
    const f: Vec3 = [Math.sin(yaw) * Math.cos(pitch), Math.cos(yaw) * Math.cos(pitch), -Math.sin(pitch)];
    const r0: Vec3 = [Math.cos(yaw), -Math.sin(yaw), 0];
    const d0 = cross(f, r0);
    const c = Math.cos(roll);
    const s = Math.sin(roll);
    this.forward = f;
    this.right = [r0[0] * c + d0[0] * s, r0[1] * c + d0[1] * s, r0[2] * c + d0[2] * s];
    this.down = [d0[0] * c - r0[0] * s, d0[1] * c - r0[1] * s, d0[2] * c - r0[2] * s];
    this.cx = width / 2;
    this.cy = height / 2;
  }

  /** Camera-space coordinates (x right, y down, z forward) of a world point. */
  toCamera(x: number, y: number, z: number, out: Vec3): Vec3 {
    const p = this.pose.position;
    const dx = x - p[0];
    const dy = y - p[1];
    const dz = z - p[2];
    const r = this.right;
    const d = this.down;
    const f = this.forward;
    out[0] = dx * r[0] + dy * r[1] + dz * r[2];
    out[1] = dx * d[0] + dy * d[1] + dz * d[2];
    out[2] = dx * f[0] + dy * f[1] + dz * f[2];
    return out;
  }

  /** Pixel coordinates of a world point, or null behind the camera. */
  project(x: number, y: number, z: number): [number, number] | null {
    const c = this.toCamera(x, y, z, [0, 0, 0]);
    if (c[2] <= 1e-3) return null;
    return [this.cx + (this.fx * c[0]) / c[2], this.cy + (this.fy * c[1]) / c[2]];
  }

  /** The ground point (z = 0) seen at a pixel, or null above the horizon. */
  groundAt(u: number, v: number): [number, number] | null {
    const a = (u - this.cx) / this.fx;
    const b = (v - this.cy) / this.fy;
    const dz = this.forward[2] + a * this.right[2] + b * this.down[2];
    if (dz >= -1e-6) return null;
    const t = -this.pose.position[2] / dz;
    const p = this.pose.position;
    return [p[0] + t * (this.forward[0] + a * this.right[0] + b * this.down[0]), p[1] + t * (this.forward[1] + a * this.right[1] + b * this.down[1])];
  }

  /** Image row of the horizon at the image centre column (may lie outside the image). */
  horizonRow(): number {
    // Points far along the heading project towards the horizon.
    const far = 1e6;
    const p = this.pose.position;
    const pr = this.project(p[0] + Math.sin(this.pose.yaw) * far, p[1] + Math.cos(this.pose.yaw) * far, 0);
    return pr ? pr[1] : -Infinity;
  }
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
