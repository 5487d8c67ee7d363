import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setupFromArgs } from '../../src/cli/run.js';
import { loadPipelineConfig, validatePipelineText } from '../../src/config/load.js';
import { xnorcam } from '../engine/helpers.js';

/** `detector.precision` in pipeline files: validated, defaulted to exact, overridden by `run --precision`. */
const dir = mkdtempSync(join(tmpdir(), 'xnorcam-precision-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sources = 'sources:\n  - name: a\n    url: rtsp://127.0.0.1:8554/a\n';
function pipelineFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('pipeline config detector.precision', () => {
  it('defaults to exact and accepts fast', () => {
    expect(loadPipelineConfig(pipelineFile('default.yaml', sources)).detector.precision).toBe('exact');
    expect(loadPipelineConfig(pipelineFile('fast.yaml', 'detector:\n  precision: fast\n' + sources)).detector.precision).toBe('fast');
  });

  it('rejects an unknown value with the key path and line', () => {
    const { config, problems } = validatePipelineText(sources + 'detector:\n  thresh: 0.3\n  precision: bogus\n');
    expect(config).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: 'detector.precision', line: 6 });
    expect(problems[0].message).toMatch(/"exact"\|"fast"/);
  });

  it('xnorcam check prints file:line: detector.precision: problem and exits 1', () => {
    const file = pipelineFile('bogus.yaml', 'detector:\n  precision: bogus\n' + sources);
    const r = xnorcam('check', file);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${file}:2: detector\\.precision: .*"exact"\\|"fast"`));
  });

  it('reaches the pipeline options; the run flag overrides the file; bad flags fail in one line', () => {
    const fast = pipelineFile('run-fast.yaml', 'detector:\n  precision: fast\n' + sources);
    const plain = pipelineFile('run-plain.yaml', sources);
    expect(setupFromArgs([fast], {}).options.precision).toBe('fast');
    expect(setupFromArgs([plain], {}).options.precision).toBe('exact');
    expect(setupFromArgs([fast], { precision: 'exact' }).options.precision).toBe('exact');
    expect(setupFromArgs([plain], { precision: 'fast' }).options.precision).toBe('fast');
    expect(setupFromArgs(['rtsp://127.0.0.1:8554/a'], { precision: 'fast' }).options.precision).toBe('fast');
    expect(setupFromArgs(['rtsp://127.0.0.1:8554/a'], {}).options.precision).toBeUndefined();
    expect(() => setupFromArgs([plain], { precision: 'nope' })).toThrow("--precision: expected one of exact, fast, got 'nope'");
  });
});
