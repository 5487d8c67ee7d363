/**
 * Optimal rectangular assignment (Hungarian method, shortest augmenting paths with potentials,
 * O(n²·m)). Used by the tracker every frame and by the MOT evaluator, so the solver keeps its
 * work arrays between calls and allocates only when a bigger problem arrives.
 *
 * Pairs can be forbidden (gating). Like py-motmetrics and SciPy-with-forbidden-edges, the solver
 * first maximises the number of allowed pairs, then minimises their total cost: forbidden pairs
 * get a cost larger than any sum of allowed costs and are dropped from the answer.
 */
export class AssignmentSolver {
  private cap = 0;
  private capCols = 0;
  private u = new Float64Array(0);
  private v = new Float64Array(0);
  private minv = new Float64Array(0);
  private p = new Int32Array(0);
  private way = new Int32Array(0);
  private used = new Uint8Array(0);
  private work = new Float64Array(0);

  private ensure(rows: number, cols: number): void {
    if (rows + 1 > this.cap) {
      this.cap = Math.max(rows + 1, this.cap * 2, 16);
      this.u = new Float64Array(this.cap);
    }
    if (cols + 1 > this.capCols) {
      this.capCols = Math.max(cols + 1, this.capCols * 2, 16);
      this.v = new Float64Array(this.capCols);
      this.minv = new Float64Array(this.capCols);
      this.p = new Int32Array(this.capCols);
      this.way = new Int32Array(this.capCols);
      this.used = new Uint8Array(this.capCols);
    }
    if (rows * cols > this.work.length) this.work = new Float64Array(Math.max(rows * cols, this.work.length * 2));
  }

  /**
   * Solves rows×cols `cost` (row-major). `allowed(i, j)` may be omitted (every pair allowed); a
   * pair whose cost is not finite is always forbidden. Writes, for each row, the matched column
   * or -1 into `rowToCol` and returns the number of matched pairs.
   */
  solve(cost: ArrayLike<number>, rows: number, cols: number, rowToCol: Int32Array, allowed?: (i: number, j: number) => boolean): number {
    rowToCol.fill(-1, 0, rows);
    if (rows === 0 || cols === 0) return 0;
    if (!allowed && rows * cols > 64) return this.solveByComponents(cost, rows, cols, rowToCol);
    return this.solveDense(cost, rows, cols, rowToCol, allowed);
  }

  // Union-find over rows (0..rows-1) and columns (rows..rows+cols-1) joined by allowed pairs.
  private parent = new Int32Array(0);
  private compRows = new Int32Array(0);
  private compCols = new Int32Array(0);
  private colIndex = new Int32Array(0);
  private sub = new Float64Array(0);
  private subOut = new Int32Array(0);

  private find(i: number): number {
    const p = this.parent;
    while (p[i] !== i) {
      p[i] = p[p[i]];
      i = p[i];
    }
    return i;
  }

  /**
   * Gated problems are sparse: objects far apart never compete. Solving each connected group of
   * rows and columns separately gives the same optimum at a fraction of the O(n²·m) cost.
   */
  private solveByComponents(cost: ArrayLike<number>, rows: number, cols: number, rowToCol: Int32Array): number {
    const n = rows + cols;
    if (this.parent.length < n) {
      this.parent = new Int32Array(n * 2);
      this.compRows = new Int32Array(n * 2);
      this.compCols = new Int32Array(n * 2);
      this.colIndex = new Int32Array(n * 2);
    }
    const parent = this.parent;
    for (let i = 0; i < n; i++) parent[i] = i;
    let edges = 0;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        if (!Number.isFinite(cost[i * cols + j])) continue;
        edges++;
        const a = this.find(i);
        const b = this.find(rows + j);
        if (a !== b) parent[a] = b;
      }
    }
    if (edges === 0) return 0;
    // Chain the nodes of each component: head[root] → next[node] → … (-1 ends).
    const head = this.compRows;
    const next = this.compCols;
    head.fill(-1, 0, n);
    for (let i = n - 1; i >= 0; i--) {
      const r = this.find(i);
      next[i] = head[r];
      head[r] = i;
    }
    const idx = this.colIndex;
    let matched = 0;
    for (let root = 0; root < n; root++) {
      if (head[root] < 0) continue;
      // Rows come first in the chain (lower indices), then columns; idx holds rows then columns.
      let nr = 0;
      let nc = 0;
      for (let k = head[root]; k >= 0; k = next[k]) if (k < rows) idx[nr++] = k;
      if (nr === 0) continue;
      for (let k = head[root]; k >= 0; k = next[k]) if (k >= rows) idx[nr + nc++] = k - rows;
      if (nc === 0) continue;
      if (nr * nc > this.sub.length) this.sub = new Float64Array(Math.max(nr * nc, this.sub.length * 2));
      if (nr > this.subOut.length) this.subOut = new Int32Array(Math.max(nr, this.subOut.length * 2));
      const sub = this.sub;
      for (let a = 0; a < nr; a++) for (let b = 0; b < nc; b++) sub[a * nc + b] = cost[idx[a] * cols + idx[nr + b]];
      const out = this.subOut;
      matched += nr === 1 && nc === 1 ? ((out[0] = 0), 1) : this.solveDense(sub, nr, nc, out);
      for (let a = 0; a < nr; a++) if (out[a] >= 0) rowToCol[idx[a]] = idx[nr + out[a]];
    }
    return matched;
  }

  private solveDense(cost: ArrayLike<number>, rows: number, cols: number, rowToCol: Int32Array, allowed?: (i: number, j: number) => boolean): number {
    rowToCol.fill(-1, 0, rows);
    this.ensure(Math.max(rows, cols), Math.max(rows, cols));
    const transpose = rows > cols;
    const n = transpose ? cols : rows;
    const m = transpose ? rows : cols;
    const a = this.work;
    // Forbidden pairs cost more than any complete set of allowed pairs, so the optimum never
    // trades an allowed pair for a forbidden one.
    let maxAbs = 0;
    let anyAllowed = false;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const c = cost[i * cols + j];
        if (Number.isFinite(c) && (!allowed || allowed(i, j))) {
          anyAllowed = true;
          const abs = Math.abs(c);
          if (abs > maxAbs) maxAbs = abs;
        }
      }
    }
    if (!anyAllowed) return 0;
    const forbidden = 2 * Math.min(rows, cols) * (maxAbs + 1) + 1;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const c = cost[i * cols + j];
        const ok = Number.isFinite(c) && (!allowed || allowed(i, j));
        const val = ok ? c : forbidden;
        if (transpose) a[j * rows + i] = val;
        else a[i * cols + j] = val;
      }
    }
    const { u, v, minv, p, way, used } = this;
    u.fill(0, 0, n + 1);
    v.fill(0, 0, m + 1);
    p.fill(0, 0, m + 1);
    way.fill(0, 0, m + 1);
    for (let i = 1; i <= n; i++) {
      p[0] = i;
      let j0 = 0;
      minv.fill(Infinity, 0, m + 1);
      used.fill(0, 0, m + 1);
      do {
        used[j0] = 1;
        const i0 = p[j0];
        let delta = Infinity;
        let j1 = 0;
        const rowBase = (i0 - 1) * m;
        const ui0 = u[i0];
        for (let j = 1; j <= m; j++) {
          if (used[j]) continue;
          const cur = a[rowBase + j - 1] - ui0 - v[j];
          if (cur < minv[j]) {
            minv[j] = cur;
            way[j] = j0;
          }
          if (minv[j] < delta) {
            delta = minv[j];
            j1 = j;
          }
        }
        for (let j = 0; j <= m; j++) {
          if (used[j]) {
            u[p[j]] += delta;
            v[j] -= delta;
          } else {
            minv[j] -= delta;
          }
        }
        j0 = j1;
      } while (p[j0] !== 0);
      do {
        const j1 = way[j0];
        p[j0] = p[j1];
        j0 = j1;
      } while (j0 !== 0);
    }
    let matched = 0;
    for (let j = 1; j <= m; j++) {
      if (p[j] === 0) continue;
      const r = transpose ? j - 1 : p[j] - 1;
      const c = transpose ? p[j] - 1 : j - 1;
      const val = cost[r * cols + c];
      if (!Number.isFinite(val) || (allowed && !allowed(r, c))) continue;
      rowToCol[r] = c;
      matched++;
    }
    return matched;
  }
}
