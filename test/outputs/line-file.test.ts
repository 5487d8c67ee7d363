import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineFile } from '../../src/outputs/line-file.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('LineFile on a disk that fails', () => {
  it('throws a failed periodic flush (a full disk) from the next write or close, never from its timer', async () => {
    const f = new LineFile('/dev/full', 64 * 1024, 20);
    f.writeLine('{"frame":0}');
    // An error thrown from the timer would be an uncaught exception, failing this test on its own.
    await new Promise((r) => setTimeout(r, 150));
    expect(() => f.writeLine('{"frame":1}')).toThrow(/ENOSPC/);
    expect(() => f.close()).toThrow(/ENOSPC/);
    expect(() => f.close()).not.toThrow();
  });

  it.skipIf(!existsSync(join(root, 'dist', 'outputs', 'line-file.js')))('leaves the file at its last whole line when a write is cut short (a file-size limit)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'xnorcam-linefile-')), 'out.jsonl');
    // bash's ulimit -f counts 1024-byte blocks; node ignores SIGXFSZ, so the write past it fails with EFBIG
    // after the kernel has taken the bytes that fit.
    const script = `
      import { LineFile } from ${JSON.stringify(join(root, 'dist', 'outputs', 'line-file.js'))};
      import { execSync } from 'node:child_process';
      const f = new LineFile(${JSON.stringify(file)}, 1 << 20, 60_000);
      const line = (i) => JSON.stringify({ frame: i, pad: 'x'.repeat(80) });
      for (let i = 0; i < 10; i++) f.writeLine(line(i));
      f.flush();
      for (let i = 10; i < 20; i++) f.writeLine(line(i));
      try { f.flush(); console.log('flushed'); } catch (e) { console.log(e.code); }
      // Room again (space freed): the lost lines must not be skipped over as if written.
      execSync('prlimit --pid ' + process.pid + ' --fsize=unlimited:');
      try { f.writeLine(line(20)); f.close(); console.log('written after the loss'); } catch (e) { console.log('still ' + e.code); }
    `;
    const r = spawnSync('bash', ['-c', 'ulimit -S -f 1 && exec "$0" --input-type=module -e "$1"', process.execPath, script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['EFBIG', 'still EFBIG']);
    const text = readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { frame: number }).frame)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
