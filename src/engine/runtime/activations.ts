import type { Activation } from '../model.js';
import type { KernelActivation } from '../kernels/backend.js';

/**
 * Activations the kernel interface does not cover, applied in place after a 'linear' kernel,
 * with darknet's float32 formulas (activations.c / activation_kernels): logistic = 1/(1+expf(-x)),
 * swish = x * logistic(x), mish = darknet's mish_yashas.
 */
const f = Math.fround;

export function kernelActivation(a: Activation): KernelActivation {
  return a === 'leaky' || a === 'relu' || a === 'linear' ? a : 'linear';
}

export function logistic(x: number): number {
  return f(1 / f(1 + f(Math.exp(-x))));
}

function mish(x: number): number {
  const e = f(Math.exp(x));
  if (x <= -18) return f(x * e);
  const n = f(f(e * e) + f(2 * e));
  if (x <= -5) return f(f(x * n) / f(n + 2));
  return f(x - f(f(2 * x) / f(n + 2)));
}

/** Applies the part of `a` that the kernel did not (no-op for linear/leaky/relu). */
export function applyExtraActivation(out: Float32Array, n: number, a: Activation): void {
  switch (a) {
    case 'logistic':
      for (let i = 0; i < n; i++) out[i] = logistic(out[i]);
      return;
    case 'swish':
      for (let i = 0; i < n; i++) {
        const x = out[i];
        out[i] = f(x * logistic(x));
      }
      return;
    case 'mish':
      for (let i = 0; i < n; i++) out[i] = mish(out[i]);
      return;
    default:
      return;
  }
}

/** The full activation in TS (for layers that have no kernel, e.g. [shortcut]). */
export function applyActivationTs(out: Float32Array, n: number, a: Activation): void {
  if (a === 'linear') return;
  if (a === 'relu') {
    for (let i = 0; i < n; i++) if (!(out[i] > 0)) out[i] = 0;
    return;
  }
  if (a === 'leaky') {
    const tail = n - (n % 8 || 8);
    const k = f(0.1);
    for (let i = 0; i < n; i++) {
      const x = out[i];
      if (x > 0) continue;
      out[i] = i >= tail ? f(0.1 * x) : f(x * k);
    }
    return;
  }
  applyExtraActivation(out, n, a);
}
