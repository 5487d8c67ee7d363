/** A lavfi: source is one of ffmpeg's test pictures: never a filter graph that could write or show a file. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAVFI_TEST_SOURCES } from '../../src/ingest/lavfi-source.js';
import { ffmpegBinary } from '../../src/ingest/ffmpeg-binary.js';
import { parseSource } from '../../src/ingest/source-spec.js';
import { xnorcam } from '../helpers/cli.js';
import { tempDir } from '../helpers/videos.js';

describe('lavfi: sources', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => (tmp = tempDir()));
  afterAll(() => tmp.cleanup());

  it('refuse filter graphs, other filters and options that read files, in one line naming the source', () => {
    const refused: [string, RegExp][] = [
      ['lavfi:testsrc2=size=320x240:rate=5,signalstats,metadata=mode=print:file=/tmp/v.txt', /^lavfi:testsrc2=size=320x240:rate=5,signalstats,metadata=mode=print:file=\/tmp\/v\.txt: ',' is not allowed: a lavfi source is one ffmpeg test source with key=value options joined by ':', not a filter graph/],
      ['lavfi:testsrc2;movie=/etc/passwd', /: ';' is not allowed/],
      ['lavfi:[in]testsrc2', /: '\[' is not allowed/],
      ["lavfi:testsrc2=size='320x240'", /: "'" is not allowed/],
      ['lavfi:testsrc2=size=320x240\\:rate=5', /: '\\' is not allowed/],
      ['lavfi:movie=/etc/passwd', /^lavfi:movie=\/etc\/passwd: 'movie' is not a test source \(lavfi: takes one of testsrc, testsrc2, /],
      ['lavfi:drawtext=textfile=/etc/passwd', /: 'drawtext' is not a test source/],
      ['lavfi:testsrc3=size=64x64', /: 'testsrc3' is not a test source; did you mean 'testsrc'\?/],
      ['lavfi:life=f=/etc/passwd', /^lavfi:life=f=\/etc\/passwd: option 'f' of life reads a file, which a source may not$/],
      ['lavfi:cellauto=filename=/etc/passwd', /: option 'filename' of cellauto reads a file/],
      ['lavfi:color=red', /^lavfi:color=red: option 'red' of color is not key=value \(e\.g\. size=640x360\)$/],
      ['lavfi:', /^lavfi:: no test source given/],
    ];
    for (const [url, message] of refused) expect(() => parseSource(url), url).toThrow(message);
  });

  it('takes each test source on the list, with its options, as this ffmpeg opens it', () => {
    const accepted = [...LAVFI_TEST_SOURCES.map((s) => `lavfi:${s}=rate=5`), 'lavfi:testsrc2', 'lavfi:testsrc2=size=64x48:rate=30000/1001:duration=0.5', 'lavfi:color=c=red@0.5:size=32x32', 'lavfi:color=c=#ff8000', 'lavfi:mandelbrot=start_x=-0.743:size=64x64', 'lavfi:life=rule=S23/B3:size=32x32'];
    for (const url of accepted) {
      const spec = parseSource(url);
      expect(spec.name).toBe(url.slice('lavfi:'.length).split('=')[0]);
      const r = spawnSync(ffmpegBinary().path, ['-hide_banner', '-loglevel', 'error', ...spec.inputOptions, '-i', spec.input, '-frames:v', '1', '-f', 'null', '-'], { encoding: 'utf8', timeout: 20_000 });
      expect([url, r.status, r.stderr]).toEqual([url, 0, '']);
    }
  });

  it('run and check refuse a filter graph before ffmpeg sees it: the file it names is left as it was', () => {
    const victim = join(tmp.dir, 'v.txt');
    writeFileSync(victim, 'kept\n');
    const graph = `lavfi:testsrc2=size=160x120:rate=5,signalstats,metadata=mode=print:file=${victim}`;
    const run = xnorcam(['run', graph, '--duration', '2', '--no-dashboard', '--workers', '1']);
    expect([run.status, run.stderr.trim()]).toEqual([1, expect.stringMatching(/^error: lavfi:testsrc2=.*: ',' is not allowed: a lavfi source is one ffmpeg test source[^\n]*$/)]);
    const pipeline = join(tmp.dir, 'p.yaml');
    writeFileSync(pipeline, `sources:\n  - name: cam\n    url: "${graph}"\n`);
    const check = xnorcam(['check', pipeline]);
    expect([check.status, check.stderr.trim()]).toEqual([1, `${pipeline}:3: sources[0].url: ',' is not allowed: a lavfi source is one ffmpeg test source with key=value options joined by ':', not a filter graph (e.g. lavfi:testsrc2=size=640x360:rate=25)`]);
    const fromFile = xnorcam(['run', pipeline, '--duration', '2', '--no-dashboard', '--workers', '1']);
    expect([fromFile.status, fromFile.stderr.trim()]).toEqual([1, `error: ${check.stderr.trim()}`]);
    expect(readFileSync(victim, 'utf8')).toBe('kept\n');
  }, 60_000);
});
