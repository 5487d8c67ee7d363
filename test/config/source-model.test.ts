import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPipelineConfig, validatePipelineText } from '../../src/config/load.js';
import { bin } from '../helpers/model.js';
import { defaultModelPath } from '../../src/detect/default-model.js';

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

describe('model files named by a pipeline file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xnorcam-cfg-'));
  writeFileSync(join(dir, 'readme.txt'), 'not a model\n');
  mkdirSync(join(dir, 'folder.xnor'));
  // Cameras: a recording's own file check is not what this is about.
  const source = (name: string, model?: string) => `  - name: ${name}\n    url: rtsp://127.0.0.1:9/${name}\n${model ? `    model: ${model}\n` : ''}`;
  const text = 'model: nope/missing.xnor\nsources:\n' + source('a') + source('b', 'readme.txt') + source('c', 'gone.xnor') + source('d', 'folder.xnor') + source('e', defaultModelPath());
  const file = join(dir, 'm.yaml');
  writeFileSync(file, text);
  const xnorcam = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: dir, timeout: 30_000 });

  it('reports a missing or non-model file with the line and key of its model:, top level and per source', () => {
    const { config, problems } = validatePipelineText(text, { file });
    expect(config).toBeUndefined();
    expect(problems).toEqual([
      { path: 'model', line: 1, message: 'nope/missing.xnor: no such file' },
      { path: 'sources[1].model', line: 7, message: expect.stringMatching(/^readme\.txt: not an xnorcam model \(bad magic/) },
      { path: 'sources[2].model', line: 10, message: 'gone.xnor: no such file' },
      { path: 'sources[3].model', line: 13, message: 'folder.xnor: is a folder, not a .xnor model' },
    ]);
    // A --model flag replaces the top-level model: only the sources' are checked then.
    expect(validatePipelineText(text, { file, skipPipelineModel: true }).problems.map((p) => p.path)).toEqual(['sources[1].model', 'sources[2].model', 'sources[3].model']);
  });

  it('xnorcam check and run name the file, line and key (not a --model flag)', () => {
    const check = xnorcam('check', 'm.yaml');
    expect(check.status).toBe(1);
    expect(check.stderr.trim().split('\n')).toEqual([
      'm.yaml:1: model: nope/missing.xnor: no such file',
      expect.stringMatching(/^m\.yaml:7: sources\[1\]\.model: readme\.txt: not an xnorcam model/),
      'm.yaml:10: sources[2].model: gone.xnor: no such file',
      'm.yaml:13: sources[3].model: folder.xnor: is a folder, not a .xnor model',
    ]);
    const run = xnorcam('run', 'm.yaml', '--no-dashboard', '--duration', '1');
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe('error: m.yaml:1: model: nope/missing.xnor: no such file (and 3 more problems; run xnorcam check)');
    writeFileSync(join(dir, 'one.yaml'), 'sources:\n' + source('a') + source('b', 'readme.txt'));
    const one = xnorcam('run', 'one.yaml', '--no-dashboard', '--duration', '1');
    expect(one.status).toBe(1);
    expect(one.stderr.trim()).toMatch(/^error: one\.yaml:6: sources\[1\]\.model: readme\.txt: not an xnorcam model \(bad magic[^\n]*$/);
  });
});
