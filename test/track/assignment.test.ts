import { describe, expect, it } from 'vitest';
import { AssignmentSolver } from '../../src/track/assignment.js';
import { rng } from './synth.js';

/** Brute force over all injections of the smaller side: most allowed pairs, then least cost. */
function brute(cost: number[], rows: number, cols: number): { pairs: number; total: number } {
  let best = { pairs: -1, total: Infinity };
  const usedCols = new Array(cols).fill(false);
  const rec = (r: number, pairs: number, total: number) => {
    if (r === rows) {
      if (pairs > best.pairs || (pairs === best.pairs && total < best.total - 1e-12)) best = { pairs, total };
      return;
    }
    rec(r + 1, pairs, total);
    for (let c = 0; c < cols; c++) {
      const v = cost[r * cols + c];
      if (usedCols[c] || !Number.isFinite(v)) continue;
      usedCols[c] = true;
      rec(r + 1, pairs + 1, total + v);
      usedCols[c] = false;
    }
  };
  rec(0, 0, 0);
  return best;
}

describe('AssignmentSolver', () => {
  it('matches brute force on random rectangular problems with forbidden pairs', () => {
    const r = rng(7);
    const solver = new AssignmentSolver();
    for (let trial = 0; trial < 300; trial++) {
      const rows = 1 + Math.floor(r() * 6);
      const cols = 1 + Math.floor(r() * 6);
      const cost = Array.from({ length: rows * cols }, () => (r() < 0.3 ? NaN : Math.round(r() * 100) / 10 - 2));
      const out = new Int32Array(rows);
      const pairs = solver.solve(cost, rows, cols, out);
      let total = 0;
      const seen = new Set<number>();
      for (let i = 0; i < rows; i++) {
        if (out[i] < 0) continue;
        expect(seen.has(out[i])).toBe(false);
        seen.add(out[i]);
        expect(Number.isFinite(cost[i * cols + out[i]])).toBe(true);
        total += cost[i * cols + out[i]];
      }
      const b = brute(cost, rows, cols);
      expect(pairs).toBe(Math.max(b.pairs, 0));
      expect(total).toBeCloseTo(b.pairs > 0 ? b.total : 0, 9);
    }
  });

  it('gives the same optimum when it splits a large sparse problem into independent groups', () => {
    const r = rng(11);
    const solver = new AssignmentSolver();
    for (let trial = 0; trial < 50; trial++) {
      const rows = 20 + Math.floor(r() * 30);
      const cols = 20 + Math.floor(r() * 30);
      // Objects on a line: only neighbours may pair, so the problem falls apart into small groups.
      const cost = Array.from({ length: rows * cols }, (_, k) => {
        const d = Math.abs(Math.floor(k / cols) / rows - (k % cols) / cols);
        return d < 0.06 ? d + r() * 0.01 : NaN;
      });
      const split = new Int32Array(rows);
      const dense = new Int32Array(rows);
      const n1 = solver.solve(cost, rows, cols, split);
      const n2 = solver.solve(cost, rows, cols, dense, () => true);
      const total = (out: Int32Array) => [...out].reduce((s, c, i) => s + (c >= 0 ? cost[i * cols + c] : 0), 0);
      expect(n1).toBe(n2);
      expect(total(split)).toBeCloseTo(total(dense), 9);
      expect(new Set([...split].filter((c) => c >= 0)).size).toBe(n1);
    }
  });

  it('solves the classic 3×3 example', () => {
    const out = new Int32Array(3);
    new AssignmentSolver().solve([4, 1, 3, 2, 0, 5, 3, 2, 2], 3, 3, out);
    expect([...out]).toEqual([1, 0, 2]);
  });
});
