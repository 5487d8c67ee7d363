import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPipelineConfig, validatePipelineText } from '../../src/config/load.js';
import { pipelineJsonSchema } from '../../src/config/schema.js';
import { makeVideo } from '../helpers/videos.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'xnorcam.js');
const xnorcam = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

const valid = `
sources:
  - name: cam1
    url: rtsp://127.0.0.1:8554/cam1
`;

/** Each broken config, the key path the error must name, and the line it must point at. */
const broken: { what: string; yaml: string; path: string; line: number; message: RegExp }[] = [
  { what: 'no sources', yaml: 'sources: []\n', path: 'sources', line: 1, message: /at least one source/ },
  { what: 'url of the wrong type', yaml: 'sources:\n  - name: a\n    url: rtsp://x\n  - name: b\n    url: rtsp://y\n  - name: c\n    url: 42\n', path: 'sources[2].url', line: 7, message: /expected string/ },
  { what: 'missing url', yaml: 'sources:\n  - name: a\n', path: 'sources[0].url', line: 2, message: /required/ },
  { what: 'unknown key', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    fps_cap: 10\n', path: 'sources[0]', line: 4, message: /^unknown key 'fps_cap'; did you mean 'fpsCap'\?$/ },
  { what: 'a key in the wrong case, deep down', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    tracker:\n      lowscore: 0.1\n', path: 'sources[0].tracker', line: 5, message: /^unknown key 'lowscore'; did you mean 'lowScore'\?$/ },
  // The start of a key, its unit left off: the key meant, though many letters short; a word that starts none (or several) has no suggestion.
  { what: 'a key with its unit left off', yaml: 'countInterval: 900\n' + valid, path: '(top level)', line: 1, message: /^unknown key 'countInterval'; did you mean 'countIntervalSeconds'\?$/ },
  { what: 'keys that are the start of one, of none, too short', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    watchdog: 5\n    counting: 1\n    mov: true\n', path: 'sources[0]', line: 4, message: /^unknown keys 'watchdog' \(did you mean 'watchdogSeconds'\?\), 'counting', 'mov'$/ },
  { what: 'two unknown keys, one close to a real one', yaml: 'detector:\n  thersh: 0.3\n  zzzzz: 1\nsources:\n  - name: a\n    url: x.mp4\n', path: 'detector', line: 2, message: /^unknown keys 'thersh' \(did you mean 'thresh'\?\), 'zzzzz'$/ },
  { what: 'bad enum', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    mode: realtime\n', path: 'sources[0].mode', line: 4, message: /"live"\|"batch"/ },
  { what: 'line with one point', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    lines:\n      - name: l1\n        points: [[0, 0]]\n', path: 'sources[0].lines[0].points', line: 6, message: /./ },
  { what: 'zone with two points', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    zones:\n      - name: z\n        polygon: [[0, 0], [1, 1]]\n', path: 'sources[0].zones[0].polygon', line: 6, message: /at least 3 points/ },
  { what: 'calibration with 3 points', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    calibration:\n      image: [[0,0],[1,0],[1,1]]\n      world: [[0,0],[1,0],[1,1],[0,1]]\n', path: 'sources[0].calibration.image', line: 5, message: /exactly 4/ },
  { what: 'calibration with three image points on one line', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    calibration:\n      image: [[0,0],[10,10],[20,20],[0,30]]\n      world: [[0,0],[3,0],[3,10],[0,10]]\n', path: 'sources[0].calibration.image', line: 5, message: /^image points 1, 2 and 3 are on one line$/ },
  { what: 'calibration with three ground points on one line', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    calibration:\n      image: [[0,0],[10,0],[10,10],[0,10]]\n      world: [[0,0],[3,0],[6,0],[0,10]]\n', path: 'sources[0].calibration.world', line: 6, message: /^world points 1, 2 and 3 are on one line$/ },
  { what: 'calibration with a ground point twice', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    calibration:\n      image: [[0,0],[10,0],[10,10],[0,10]]\n      world: [[0,0],[3,0],[3,0],[0,10]]\n', path: 'sources[0].calibration.world', line: 6, message: /^world points 2 and 3 are the same point$/ },
  { what: 'calibration whose pairs fold the map', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    calibration:\n      image: [[410,700],[890,700],[700,320],[560,320]]\n      world: [[0,0],[7,0],[0,40],[7,40]]\n', path: 'sources[0].calibration', line: 4, message: /not in the same order as the image points/ },
  { what: 'port out of range', yaml: valid + 'outputs:\n  dashboard:\n    port: 70000\n', path: 'outputs.dashboard.port', line: 7, message: /65535/ },
  { what: 'allowed host with a port', yaml: valid + 'outputs:\n  dashboard:\n    allowedHosts:\n      - cams.example.org\n      - "cams.example.org:8080"\n', path: 'outputs.dashboard.allowedHosts[1]', line: 9, message: /'cams.example.org:8080' is not a host name/ },
  { what: 'webhook url not http', yaml: valid + 'outputs:\n  webhooks:\n    - url: ftp://example.invalid/x\n', path: 'outputs.webhooks[0].url', line: 7, message: /./ },
  { what: 'duplicate source names', yaml: 'sources:\n  - name: a\n    url: x.mp4\n  - name: a\n    url: y.mp4\n', path: 'sources[1].name', line: 4, message: /duplicate source name 'a'/ },
  { what: 'kernel backend this build does not have', yaml: 'detector:\n  backend: cuda\n' + valid, path: 'detector.backend', line: 2, message: /"auto"\|"native"\|"wasm"\|"reference"/ },
  { what: 'workers zero', yaml: 'workers: 0\n' + valid, path: 'workers', line: 1, message: /^expected 'auto' or an integer from 1 to 64$/ },
  { what: 'bad source name', yaml: 'sources:\n  - name: "my camera!"\n    url: x.mp4\n', path: 'sources[0].name', line: 2, message: /letters, digits/ },
  { what: 'line of zero length', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    lines:\n      - name: l1\n        points: [[100, 200], [100, 200]]\n', path: 'sources[0].lines[0].points', line: 6, message: /same.*zero length/ },
  { what: 'zone of collinear points', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    zones:\n      - name: z\n        polygon: [[0, 0], [10, 10], [20, 20]]\n', path: 'sources[0].zones[0].polygon', line: 6, message: /no area/ },
  { what: 'workers not a number', yaml: 'workers: two\n' + valid, path: 'workers', line: 1, message: /^expected 'auto' or an integer from 1 to 64$/ },
  { what: 'workers too many', yaml: 'workers: 65\n' + valid, path: 'workers', line: 1, message: /^expected 'auto' or an integer from 1 to 64$/ },
  // The key's own line, not that of its value on the next line.
  { what: 'unknown key with a block value', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    line:\n      - name: l1\n', path: 'sources[0]', line: 4, message: /unknown key 'line'/ },
  { what: 'movements with one line', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    lines:\n      - name: l1\n        points: [[0, 0], [9, 9]]\n    movements: true\n', path: 'sources[0].movements', line: 7, message: /^movements need at least two lines \(one across each approach\)$/ },
  { what: 'block value of the wrong type', yaml: 'sources:\n  - name: a\n    url: x.mp4\n    lines:\n      name: l1\n', path: 'sources[0].lines', line: 4, message: /expected array/ },
];

describe('pipeline config validation', () => {
  it.each(broken)('names the key path and line: $what', ({ yaml, path, line, message }) => {
    const { config, problems } = validatePipelineText(yaml);
    expect(config).toBeUndefined();
    const p = problems.find((q) => q.path === path);
    expect(p, `problems: ${JSON.stringify(problems)}`).toBeDefined();
    expect(p!.line).toBe(line);
    expect(p!.message).toMatch(message);
  });

  it('lists problems in line order', () => {
    const { problems } = validatePipelineText('sources:\n  - name: a\n    url: 42\nworkers: two\ncountIntervalSeconds: -1\n');
    expect(problems.map((p) => [p.line, p.path])).toEqual([
      [3, 'sources[0].url'],
      [4, 'workers'],
      [5, 'countIntervalSeconds'],
    ]);
  });

  it('refuses zones without an inside (points on one line) and zones whose sides cross (corners out of order)', () => {
    const zone = (polygon: string) => validatePipelineText(`sources:\n  - name: a\n    url: x.mp4\n    zones:\n      - name: z\n        polygon: ${polygon}\n`).problems;
    expect(zone('[[0, 0], [10, 10], [20, 20], [5, 5]]')).toMatchObject([{ path: 'sources[0].zones[0].polygon', line: 6, message: expect.stringMatching(/no area/) }]);
    expect(zone('[[3, 4], [3, 4], [3, 4]]')).toHaveLength(1);
    // A box's corners in Z order: a bow tie, whose two triangles are not the box meant.
    expect(zone('[[312, 414], [1054, 423], [177, 586], [1128, 607]]')).toMatchObject([
      { path: 'sources[0].zones[0].polygon', line: 6, message: 'its sides 2 and 4 cross: list the points in order around the zone' },
    ]);
    // The same corners in order, and a concave zone (an L), are fine.
    expect(zone('[[312, 414], [1054, 423], [1128, 607], [177, 586]]')).toEqual([]);
    expect(zone('[[0, 0], [10, 0], [10, 4], [4, 4], [4, 10], [0, 10]]')).toEqual([]);
  });

  it('reports YAML syntax errors with their line', () => {
    const { problems } = validatePipelineText('sources:\n  - name: a\n    url: [unclosed\n');
    expect(problems[0].path).toBe('(yaml)');
    expect(problems[0].line).toBeGreaterThan(0);
  });

  it('words the YAML problems a user meets: a key twice, a second document, an alias bomb, deep nesting, a huge file, a list as a key', () => {
    const one = (text: string) => {
      const { problems } = validatePipelineText(text);
      expect(problems.length).toBeGreaterThan(0);
      return problems.map((p) => `${p.line ?? '-'}: ${p.path === '(yaml)' ? '' : p.path + ': '}${p.message}`);
    };
    expect(one('sources:\n  - name: a\n    url: x.mp4\n    name: b\n')).toEqual(["4: key 'name' appears twice in the same map"]);
    expect(one('sources:\n  - url: x.mp4\n---\nworkers: 2\n')).toEqual(["3: a second YAML document starts here ('---'): a pipeline file is one document"]);
    // "Billion laughs": the library stops expanding; it was an internal error, exit 70.
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefghi'[i]}`).join(',')}]`)].join('\n');
    expect(one(bomb)).toEqual(['-: too many aliases (*name) to expand: a pipeline file needs few or none']);
    expect(one('a: &x 1\nsources:\n  - name: a\n    url: *y\n')).toEqual(['4: alias *y has no anchor &y before it']);
    expect(one('['.repeat(100_000) + ']'.repeat(100_000))).toEqual(['1: nested too deeply to read']);
    expect(one('#'.repeat(5 * 2 ** 20))).toEqual(['-: 5.0 MiB of text: a pipeline file is at most 4 MiB (is this the right file?)']);
    // No multi-line Node warning on stderr: the key is reported as what it is.
    expect(one('? [a, b]\n: 1\nsources:\n  - name: a\n    url: x.mp4\n')).toEqual(["1: (top level): unknown key '[ a, b ]'"]);
  });

  it('fills defaults and resolves relative paths against the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-cfg-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'model: m.xnor\nsources:\n  - name: a\n    url: clips/a.mp4\n  - name: b\n    url: rtsp://h/x\n');
    const cfg = loadPipelineConfig(file);
    expect(cfg.model).toBe(join(dir, 'm.xnor'));
    expect(cfg.sources[0].url).toBe(join(dir, 'clips/a.mp4'));
    expect(cfg.sources[1].url).toBe('rtsp://h/x');
    expect(cfg.sources[0]).toMatchObject({ mode: 'live', transport: 'tcp', watchdogSeconds: 10, reconnectMaxSeconds: 1, lines: [] });
    expect(cfg.outputs.dashboard).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(cfg.detector.threadsPerFrame).toBe(1);
  });

  it('takes detector.threadsPerFrame as a whole number of threads, and names the key when it is not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-cfg-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'detector: { threadsPerFrame: 2 }\nsources:\n  - name: a\n    url: rtsp://h/x\n');
    expect(loadPipelineConfig(file).detector.threadsPerFrame).toBe(2);
    writeFileSync(file, 'detector:\n  threadsPerFrame: 0\nsources:\n  - name: a\n    url: rtsp://h/x\n');
    const r = xnorcam('check', file);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^${file}:2: detector\\.threadsPerFrame: `));
  });
});

describe('xnorcam check', () => {
  it('passes every shipped pipeline', () => {
    const files = readdirSync(join(root, 'pipelines')).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    const r = xnorcam('check', ...files.map((f) => join(root, 'pipelines', f)));
    // The only remarks: recordings the examples name that are not here (batch-folder's, and the demo's video
    // before the first `npm start` renders it).
    for (const l of r.stderr.split('\n').filter(Boolean)) expect(l).toMatch(/^warning: \S+\.yaml:\d+: sources\[\d+\]\.url: \S+: no such file \(run refuses it until it is there\)$/);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(files.length);
  });

  it('prints file:line: key.path: problem for each broken config and exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-check-'));
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'sources:\n  - name: a\n    url: 42\n    mode: realtime\n');
    const r = xnorcam('check', file);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${file}:3: sources\\[0\\]\\.url: expected string`)),
      expect.stringMatching(new RegExp(`^${file}:4: sources\\[0\\]\\.mode: `)),
    ]);
  });

  it('warns of a recording that is not there, with its line; run refuses it with the same line; a folder is a problem with an example', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-check-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'sources:\n  - name: cam\n    url: rtsp://h/x\n  - name: rec\n    url: clips/missing.mp4\n  - name: dir\n    url: .\n');
    const r = xnorcam('check', file);
    // A folder is no recording to be made later: a problem, as a folder given to batch, with an example (it said
    // `not a video file (run refuses it until it is there)`, a warning).
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `warning: ${file}:5: sources[1].url: clips/missing.mp4: no such file (run refuses it until it is there)`,
      `${file}:7: sources[2].url: .: a folder: a source's url is one recording, e.g. ./cam1.mp4`,
    ]);
    expect(() => loadPipelineConfig(file, { checkModels: true })).toThrow(`${file}:5: sources[1].url: clips/missing.mp4: no such file (and 1 more problem; run xnorcam check)`);
    // A reload reads it all the same (a recording archived once processed must not block every later edit).
    expect(loadPipelineConfig(file, { checkModels: true, sourceFiles: 'skip' }).sources.map((x) => x.name)).toEqual(['cam', 'rec', 'dir']);
    // The example is a recording in the folder.
    mkdirSync(join(dir, 'clips'));
    writeFileSync(join(dir, 'clips', 'east.avi'), '');
    writeFileSync(file, 'sources:\n  - name: rec\n    url: clips/\n');
    expect(xnorcam('check', file).stderr.trim()).toBe(`${file}:3: sources[0].url: clips/: a folder: a source's url is one recording, e.g. clips/east.avi`);
  });

  it('refuses a recording that is there but no video, or empty, with its url: line, in check and run alike', () => {
    // An empty one is that, not a damaged video (it said `moov atom not found`, or `Invalid data found` for an .mkv).
    const cases: [string, string, string][] = [
      ['notvideo.mp4', 'hello\n', 'not a readable video (moov atom not found: the MP4 is incomplete or truncated)'],
      ['empty.mkv', '', 'empty file (0 bytes)'],
    ];
    for (const [name, content, why] of cases) {
      const dir = mkdtempSync(join(tmpdir(), 'xnorcam-check-'));
      writeFileSync(join(dir, name), content);
      const file = join(dir, 'p.yaml');
      writeFileSync(file, `sources:\n  - name: cam\n    url: rtsp://h/x\n  - name: rec\n    url: ${name}\n`);
      const r = xnorcam('check', file);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([`${file}:5: sources[1].url: ${name}: ${why}`]);
      // run said the same without the file's line, unlike the file's other problems
      const run = spawnSync(process.execPath, [bin, 'run', file, '--no-dashboard', '--duration', '1'], { encoding: 'utf8' });
      expect(run.status).toBe(1);
      expect(run.stderr.trim()).toBe(`error: ${file}:5: sources[1].url: ${join(dir, name)}: ${why}`);
    }
  });

  it("warns of a line, zone or calibration outside a recording's picture (drawn for another resolution), in the run's words, with its line; a camera's are not checked", () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-check-'));
    makeVideo(join(dir, 'small.mp4'), { width: 320, height: 240, seconds: 1 });
    const file = join(dir, 'p.yaml');
    const lines = ['    lines:', '      - name: count', '        points: [[0, 400], [1280, 400]]', '      - name: half', '        points: [[0, 100], [640, 100]]', '      - name: fits', '        points: [[0, 100], [320, 100]]'];
    const zone = ['    zones:', '      - name: road', '        polygon: [[0, 0], [500, 0], [500, 300]]'];
    const calibration = ['    calibration:', '      image: [[0, 500], [1200, 500], [1000, 300], [200, 300]]', '      world: [[0, 0], [7, 0], [7, 30], [0, 30]]'];
    writeFileSync(file, ['sources:', '  - name: rec', '    url: small.mp4', ...lines, ...zone, ...calibration, '  - name: cam', '    url: rtsp://10.255.255.1/cam', ...lines, ''].join('\n'));
    const r = xnorcam('check', file);
    // A warning, as a recording not there yet is: the file is valid, only this recording does not fit it.
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      `warning: ${file}:6: sources[0].lines[0].points: line 'count' has every point outside the 320x240 picture (source pixels)`,
      `warning: ${file}:8: sources[0].lines[1].points: line 'half' has 1 of its 2 points outside the 320x240 picture (source pixels)`,
      `warning: ${file}:13: sources[0].zones[0].polygon: zone 'road' has 2 of its 3 points outside the 320x240 picture (source pixels)`,
      `warning: ${file}:15: sources[0].calibration.image: calibration has every point outside the 320x240 picture (source pixels)`,
    ]);
    expect(r.stdout).toBe(`ok: ${file} (2 sources, 6 lines, 1 zone)\n`);
  });

  it('refuses a source URL of no scheme it reads (a typo) in check and run, and never prints its password', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-check-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'sources:\n  - name: cam\n    url: rstp://cam:TypoSecret1@10.0.0.5/Streaming/Channels/101\n');
    const line = `${file}:3: sources[0].url: unknown scheme 'rstp'; did you mean 'rtsp'?`;
    const check = xnorcam('check', file);
    expect([check.status, check.stderr.trim()]).toEqual([1, line]);
    const run = xnorcam('run', file, '--no-dashboard');
    expect([run.status, run.stderr.trim()]).toEqual([1, `error: ${line}`]);
    // Given on the command line, as in the pipeline file, with the password hidden.
    const cli = xnorcam('run', 'ftp://cam:TypoSecret2@10.0.0.5/x', '--no-dashboard');
    expect([cli.status, cli.stderr.trim()]).toEqual([1, "error: ftp://cam:***@10.0.0.5/x: unknown scheme 'ftp' (a source is an rtsp(s):// or http(s):// URL, /dev/videoN, lavfi:<test source> or a file path)"]);
  });

  it('hides the password of a URL taken for a file (a leading space) in the warning and in run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-check-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'sources:\n  - name: cam\n    url: " rtsp://cam:TypoSecret3@10.0.0.5/cam"\n');
    const check = xnorcam('check', file);
    expect(check.stderr.trim()).toBe(`warning: ${file}:3: sources[0].url:  rtsp://cam:***@10.0.0.5/cam: no such file (run refuses it until it is there)`);
    const run = xnorcam('run', file, '--no-dashboard');
    expect([run.status, run.stderr.trim()]).toEqual([1, `error: ${file}:3: sources[0].url:  rtsp://cam:***@10.0.0.5/cam: no such file`]);
  });

  it('names a missing file in one line', () => {
    const r = xnorcam('check', '/nonexistent/p.yaml');
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('/nonexistent/p.yaml: no such file');
  });

  it('ships a JSON Schema generated from the same zod schema', () => {
    const shipped = JSON.parse(readFileSync(join(root, 'pipelines', 'pipeline.schema.json'), 'utf8'));
    expect(shipped).toEqual(pipelineJsonSchema());
  });
});
