import { describe, expect, it } from 'vitest';
import { defineCommand, numberOption, parseCommandArgs } from '../../src/cli/command.js';
import { backendFlag } from '../../src/cli/kernel-options.js';
import { closestMatch, editDistance } from '../../src/core/suggest.js';

const spec = defineCommand({
  name: 'track',
  summary: 'test',
  usage: '<det.txt>',
  options: {
    fps: { type: 'string', value: 'F', description: 'frame rate' },
    offset: { type: 'string', short: 'k', value: 'S', description: 'a value that may be negative' },
    out: { type: 'string', short: 'o', value: 'FILE', description: 'output' },
    line: { type: 'string', multiple: true, value: 'L', description: 'repeatable' },
    json: { type: 'boolean', description: 'flag' },
  },
  positionals: { max: 1 },
});
const error = (argv: string[]) => {
  try {
    parseCommandArgs(spec, argv);
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
};

describe('command-line parsing', () => {
  it('takes a negative number as the value it follows, to be judged by that option', () => {
    expect(parseCommandArgs(spec, ['d.txt', '--offset', '-1.5'])!.values.offset).toBe('-1.5');
    expect(parseCommandArgs(spec, ['d.txt', '-k', '-.5'])!.values.offset).toBe('-.5');
    const fps = parseCommandArgs(spec, ['d.txt', '--fps', '-1'])!.values.fps;
    expect(() => numberOption('fps', fps, 25, { min: 0, above: true })).toThrow("--fps: '-1' is not a number above 0");
    // not a number: still an option-looking value, said as before
    expect(error(['d.txt', '--out', '-x'])).toMatch(/--out takes a value; one starting with '-' is written --out=-VALUE/);
    // after `--` everything is positional
    expect(parseCommandArgs(spec, ['--', '-1'])!.positionals).toEqual(['-1']);
  });

  it('refuses an option given twice with different values, and allows repeats that lose nothing', () => {
    expect(error(['d.txt', '--fps', '25', '--fps', '30'])).toBe("xnorcam track: --fps given twice ('25' and '30'); give it once (see xnorcam track --help)");
    expect(error(['d.txt', '-o', 'a.txt', '--out', 'b.txt'])).toMatch(/--out given twice \('a.txt' and 'b.txt'\)/);
    expect(parseCommandArgs(spec, ['d.txt', '--fps', '25', '--fps', '25'])!.values.fps).toBe('25');
    // the same number written two ways is one value
    expect(parseCommandArgs(spec, ['d.txt', '--fps', '0.3', '--fps=0.30'])!.values.fps).toBe('0.30');
    expect(parseCommandArgs(spec, ['d.txt', '--line', 'a', '--line', 'b'])!.values.line).toEqual(['a', 'b']);
    expect(parseCommandArgs(spec, ['d.txt', '--json', '--json'])!.values.json).toBe(true);
  });

  it('suggests the option meant by a typo, and nothing for an unrelated word', () => {
    expect(error(['d.txt', '--fsp', '25'])).toBe("xnorcam track: unknown option '--fsp'; did you mean --fps? (see xnorcam track --help)");
    expect(error(['d.txt', '--bogus'])).toBe("xnorcam track: unknown option '--bogus' (see xnorcam track --help)");
  });

  it('refuses an unknown kernel backend by its flag, before anything loads', () => {
    expect(() => backendFlag('gpu')).toThrow("--backend: 'gpu' is not a kernel backend (auto, native, wasm, reference)");
    expect(() => backendFlag('wsam')).toThrow(/; did you mean 'wasm'\?$/);
    expect(backendFlag('native')).toBe('native');
    expect(backendFlag(undefined)).toBeUndefined();
  });
});

describe('did you mean', () => {
  it('counts a swap of neighbouring letters as one slip and ignores case', () => {
    expect(editDistance('rnu', 'run')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(closestMatch('fpscap', ['fpsCap', 'url'])).toBe('fpsCap');
    expect(closestMatch('rnu', ['run', 'batch', 'track'])).toBe('run');
    // one slip in a short word; unrelated words get nothing
    expect(closestMatch('xyz', ['run', 'batch'])).toBeUndefined();
    expect(closestMatch('dashbord', ['dashboard', 'files'])).toBe('dashboard');
  });
});
