import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validatePipelineText } from '../../src/config/load.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const yaml = (thresh: string) => `detector: { thresh: 0.25 }\nsources:\n  - name: a\n    url: a.mp4\n  - name: main-st\n    url: b.mp4\n    thresh: ${thresh}\n`;

describe('per-source thresh in the pipeline file', () => {
  it('accepts a threshold in (0, 1) on one source; the others have none', () => {
    const { config, problems } = validatePipelineText(yaml('0.35'));
    expect(problems).toEqual([]);
    expect(config!.detector.thresh).toBe(0.25);
    expect(config!.sources.map((s) => s.thresh)).toEqual([undefined, 0.35]);
  });

  it('rejects out-of-range or non-numeric values with their key path and line', () => {
    for (const [value, message] of [['1.5', /below 1/], ['0', /above 0/], ['high', /expected number/]] as const) {
      const { problems } = validatePipelineText(`sources:\n  - name: a\n    url: a.mp4\n    thresh: ${value}\n`);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ path: 'sources[0].thresh', line: 4 });
      expect(problems[0].message).toMatch(message);
    }
  });

  it('xnorcam check prints file:line: sources[1].thresh for 1.5', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'xnorcam-thresh-')), 'p.yaml');
    writeFileSync(file, yaml('1.5'));
    const r = spawnSync(process.execPath, [join(root, 'bin', 'xnorcam.js'), 'check', file], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    // (the recordings it names are not there: warnings, not problems)
    expect(r.stderr.split('\n').filter((l) => l && !l.startsWith('warning: '))).toEqual([expect.stringMatching(new RegExp(`^${file}:7: sources\\[1\\]\\.thresh: .*below 1`))]);
  });
});
