import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMotFile } from '../../src/track/mot-io.js';
import { evaluateMot, poolMot, type MotMetrics } from '../../src/track/mot-metrics.js';
import { trackMotDetections } from '../../src/track/offline.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const motDir = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'mot');
const sequences = ['TUD-Campus', 'TUD-Stadtmitte', 'Venice-2', 'KITTI-17', 'ETH-Sunnyday'];

describe.skipIf(!existsSync(motDir))('tracker on real MOT15 data', () => {
  it('beats SORT on MOTA and IDF1 pooled over the five sequences, with default parameters', () => {
    const ours: MotMetrics[] = [];
    const sort: MotMetrics[] = [];
    const table: string[] = [];
    for (const seq of sequences) {
      const dir = path.join(motDir, seq);
      const { fps } = JSON.parse(readFileSync(path.join(dir, 'seqinfo.json'), 'utf8')) as { fps: number };
      const gt = readMotFile(path.join(dir, 'gt.txt'));
      const m = evaluateMot(gt, trackMotDetections(readMotFile(path.join(dir, 'det.txt')), { fps }));
      const s = evaluateMot(gt, readMotFile(path.join(dir, 'sort_ref.txt')));
      ours.push(m);
      sort.push(s);
      table.push(`${seq}: MOTA ${(m.mota * 100).toFixed(1)} (SORT ${(s.mota * 100).toFixed(1)}), IDF1 ${(m.idf1 * 100).toFixed(1)} (SORT ${(s.idf1 * 100).toFixed(1)}), IDs ${m.num_switches} (SORT ${s.num_switches})`);
    }
    const p = poolMot(ours);
    const ps = poolMot(sort);
    console.log(table.join('\n') + `\npooled: MOTA ${(p.mota * 100).toFixed(2)} IDF1 ${(p.idf1 * 100).toFixed(2)}`);
    expect(ps.mota).toBeCloseTo(0.347, 3);
    expect(ps.idf1).toBeCloseTo(0.475, 3);
    expect(p.mota).toBeGreaterThan(ps.mota);
    expect(p.idf1).toBeGreaterThan(ps.idf1);
    expect(p.num_switches).toBeLessThan(ps.num_switches);
  });
});
