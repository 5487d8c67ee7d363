import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPipelineConfig, validatePipelineText } from '../../src/config/load.js';

describe('per-source model in the pipeline file', () => {
  it('resolves a source model against the file; sources without one keep the pipeline model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-cfg-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'model: base.xnor\nsources:\n  - name: a\n    url: a.mp4\n  - name: b\n    url: b.mp4\n    model: models/cam-b.xnor\n  - name: c\n    url: c.mp4\n    model: /abs/c.xnor\n');
    const cfg = loadPipelineConfig(file);
    expect(cfg.model).toBe(join(dir, 'base.xnor'));
    expect(cfg.sources.map((s) => s.model)).toEqual([undefined, join(dir, 'models/cam-b.xnor'), '/abs/c.xnor']);
  });

  it('rejects an empty or non-string source model with its line', () => {
    for (const [value, message] of [['""', /at least 1|too small|>=1/i], ['3', /expected string/]] as const) {
      const { problems } = validatePipelineText(`sources:\n  - name: a\n    url: a.mp4\n    model: ${value}\n`);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ path: 'sources[0].model', line: 4 });
      expect(problems[0].message).toMatch(message);
    }
  });
});
