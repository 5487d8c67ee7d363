/** A live counts CSV against a file that can grow no more (a real size limit: EFBIG, as ENOSPC on a full disk). */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const built = join(root, 'dist', 'ops', 'rotating-file.js');

describe('a live counts CSV that cannot grow', () => {
  it.skipIf(!existsSync(built))('keeps every interval whole, says writable again only once the held rows are in, and loses none', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'xnorcam-efbig-')), 'cam.counts.csv');
    // bash's ulimit -f counts 1024-byte blocks; node ignores SIGXFSZ, so a write past it takes what fits and then
    // fails with EFBIG. prlimit lifts it, as space freed on a full disk would.
    const script = `
      import { LiveLineFile, OUTPUT_RETRY_MS } from ${JSON.stringify(built)};
      import { execSync } from 'node:child_process';
      const log = [];
      const at = (level) => (msg, f) => log.push({ level, msg, f });
      let now = 0;
      const f = new LiveLineFile(${JSON.stringify(file)}, { maxBytes: 1 << 20, maxFiles: 2, header: 'interval,line,count', holdLines: 1000 }, { error: at('error'), warn: at('warn'), info: at('info') }, () => now);
      // 5 rows of 23 bytes an interval: the ninth crosses 1024 bytes.
      const rows = (m) => Array.from({ length: 5 }, (_, i) => 'T' + String(m).padStart(2, '0') + ',line' + i + ',' + String(m * 10 + i).padStart(12, '0'));
      for (let m = 0; m < 10; m++) { now += 60_000; f.writeLines(rows(m)); }
      // Still at its limit: a short line would fit in what is left, but the held intervals come first.
      now += OUTPUT_RETRY_MS;
      f.writeLines(['T10,x,1']);
      log.push({ level: 'mark', msg: 'space freed' });
      execSync('prlimit --pid ' + process.pid + ' --fsize=unlimited:');
      now += OUTPUT_RETRY_MS;
      f.retry();
      f.writeLines(rows(11));
      console.log(JSON.stringify({ lost: f.close(), log }));
    `;
    const r = spawnSync('bash', ['-c', 'ulimit -S -f 1 && exec "$0" --input-type=module -e "$1"', process.execPath, script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { lost: number; log: { level: string; msg: string; f?: Record<string, unknown> }[] };
    expect(out.log.map((l) => [l.level, l.msg.split(';')[0]])).toEqual([['error', 'output file cannot be written'], ['mark', 'space freed'], ['info', 'output file writable again']]);
    expect(out.log[0].f?.error).toMatch(/EFBIG/);
    // The two intervals held and the short line behind them.
    expect(out.log[2].f).toMatchObject({ linesWrittenLate: 11, linesLost: 0 });
    expect(out.lost).toBe(0);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines[0]).toBe('interval,line,count');
    // Every interval whole and in order (no half row, no interval in part), the short line where it came.
    const expected = [...Array.from({ length: 10 }, (_, m) => m), 'x', 11].flatMap((m) =>
      m === 'x' ? ['T10,x,1'] : Array.from({ length: 5 }, (_, i) => `T${String(m).padStart(2, '0')},line${i},${String(Number(m) * 10 + i).padStart(12, '0')}`),
    );
    expect(lines.slice(1)).toEqual(expected);
  });
});
