/**
 * The trainer end to end on a tiny generated dataset: a few steps of training, export to darknet
 * cfg/weights, `xnorcam convert`, then PyTorch's forward and the engine's forward on the exported
 * model compared layer by layer (same RGB bytes in). CI runs only this quick version.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { type EngineDetector, loadDetector } from '../../src/detect/detector.js';
import { decodeImageFile } from '../../src/detect/preprocess.js';
import { TRAINING_KEYS, USED_KEYS } from '../../src/engine/darknet/cfg.js';
import { writeDataset } from '../../src/synth/dataset.js';
import { fixtures } from '../engine/helpers.js';
import { py } from '../helpers/python.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const bin = path.join(repoRoot, 'bin', 'xnorcam.js');
const xnorcam = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8' });

/**
 * A 64x64 cfg: a 3x3 conv of 8 filters (cfg lines 5-9), the `between` sections (from line 10), a second 3x3 conv with
 * the `second` options, and one head of three anchors and two classes.
 */
const tinyCfg = (second: string[], between: string[] = []) => [
  '[net]', 'width=64', 'height=64', 'channels=3',
  '[convolutional]', 'filters=8', 'size=3', 'pad=1', 'activation=leaky',
  ...between,
  '[convolutional]', ...second, 'size=3', 'pad=1', 'activation=leaky',
  '[convolutional]', 'filters=21', 'size=1', 'activation=linear',
  '[yolo]', 'mask=0,1,2', 'anchors=10,14,23,27,37,58', 'classes=2',
].join('\n');
// A [dropout] right before a batch-normalised conv (layer 2).
const TINY_DROPOUT_CFG = tinyCfg(['batch_normalize=1', 'filters=8'], ['[dropout]', 'probability=0.5']);

// Python lines: a YoloLoss over one head of three anchors, two classes, a 64x64 input (a 2x2 map).
const TINY_YOLO_LOSS = [
  'from training.yolo import YoloLoss',
  'heads = [{"mask": [0, 1, 2], "anchors": [(10, 14), (23, 27), (37, 58)], "classes": 2, "layer": 1}]',
  'loss = YoloLoss(heads, [(10, 14), (23, 27), (37, 58)], 64, 64, 2)',
];

/**
 * Runs a command from the repository root and sends it SIGINT once its stdout matches `when` (or after `when`
 * milliseconds); resolves with how it ended and what it printed.
 */
function interrupted(command: string, args: string[], when: RegExp | number): Promise<{ status: number | null; stdout: string; stderr: string; stdoutAtSignal: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, PYTHONPATH: repoRoot } });
    let stdout = '';
    let stderr = '';
    let stdoutAtSignal: string | undefined;
    const signal = () => {
      if (stdoutAtSignal !== undefined) return;
      stdoutAtSignal = stdout;
      child.kill('SIGINT');
    };
    if (typeof when === 'number') setTimeout(signal, when);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (when instanceof RegExp && when.test(stdout)) signal();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr, stdoutAtSignal: stdoutAtSignal ?? '(never signalled)' }));
  });
}

const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Runs Python lines that print 'ok …' when every assert holds; a failed assert fails the test with its message. */
function expectPythonOk(lines: string[], ok: RegExp = /^ok/): void {
  const check = py('-c', lines.join('\n'));
  expect(check.stderr).toBe('');
  expect(check.stdout).toMatch(ok);
}

/** Python lines that open a YOLO dataset folder at 320x192 as `ds`, with DeviceBatcher imported beside it. */
const openDataset = (root: string) => ['from training.data import Dataset, DeviceBatcher', `ds = Dataset(${JSON.stringify(root)}, 320, 192, None, lambda *a: None)`];

/**
 * Runs `rgb` (network size) through the engine and, from cfg/weights, through the trainer's PyTorch network
 * (training.infer), and expects every layer's output to agree but for float32 rounding.
 */
function expectSameLayerOutputs(det: EngineDetector, rgb: Uint8Array, cfg: string, weights: string, name: string): void {
  const W = det.inputWidth;
  const H = det.inputHeight;
  const rgbFile = path.join(dir, `${name}.rgb`);
  writeFileSync(rgbFile, rgb);
  det.detectRgb(rgb, W, H, { thresh: 0.5 });
  const r = py('-m', 'training.infer', '--cfg', cfg, '--weights', weights, '--rgb', rgbFile, '--layers', 'all', '--out', path.join(dir, name));
  expect(r.stderr).toBe('');
  const layers = JSON.parse(r.stdout).layers as Record<string, number[]>;
  const report: string[] = [];
  let compared = 0;
  for (const [k, shape] of Object.entries(layers)) {
    const i = Number(k);
    if (det.network.spec.layers[i].type === 'yolo') continue; // the engine applies the logistic in place
    // a small file's Buffer is a view into node's shared pool: copy its own bytes only
    const bytes = readFileSync(path.join(dir, `${name}.${k}.f32`));
    const torchOut = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const engineOut = det.network.outputs[i];
    expect(torchOut.length).toBe(shape.reduce((a, b) => a * b, 1));
    expect(engineOut.length).toBe(torchOut.length);
    let maxAbs = 0;
    let off = 0;
    for (let j = 0; j < torchOut.length; j++) {
      const d = Math.abs(torchOut[j] - engineOut[j]);
      maxAbs = Math.max(maxAbs, Math.abs(torchOut[j]));
      // float32 rounding differs (summation order, folded vs unfolded batch norm); a value near 0
      // can flip the sign of a binary input downstream, which changes a few outputs by more.
      if (d > 1e-4 * Math.max(1, Math.abs(torchOut[j]))) off++;
    }
    compared++;
    report.push(`${i}:${off}/${torchOut.length}`);
    expect(off / torchOut.length, `${name}: layer ${i} (${det.network.spec.layers[i].type}) values off: ${off}`).toBeLessThan(0.002);
    expect(maxAbs).toBeGreaterThan(0);
  }
  expect(compared).toBeGreaterThan(10);
  console.log(`${name} layers (index: values differing by more than 1e-4 relative / total): ${report.join(' ')}`);
}

// Each spawn imports PyTorch; on a busy 2-core machine a few seconds become a minute.
const SLOW = 240_000;
let dir: string;
let run: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'xnorcam-train-'));
  run = path.join(dir, 'run');
  await writeDataset({ out: path.join(dir, 'data'), count: 12, seed: 424242, width: 320, height: 192, format: 'jpg', quality: [80, 90] });
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('python trainer', () => {
  it('documents its options with --help', () => {
    const r = py('-m', 'training.train', '--help');
    expect(r.status).toBe(0);
    for (const flag of ['--data', '--out', '--cfg', '--float', '--epochs', '--time-limit']) expect(r.stdout).toContain(flag);
  });

  it('decides bfloat16 autocast from the CPU for --bf16 auto, and is told by on/off', () => {
    const r = py('-c', [
      'import json',
      'from training.train import resolve_bf16, parse_args',
      "amx = 'processor : 0\\nflags : fpu sse2 avx512f amx_tile amx_bf16 avx512_bf16\\n'",
      "old = 'processor : 0\\nflags : fpu sse2 avx2 avx512f\\n'",
      "zen4 = 'processor : 0\\nflags : fpu sse2 avx512f avx512_bf16 avx512_vnni\\n'",
      'print(json.dumps([resolve_bf16("auto", "cpu", amx), resolve_bf16("auto", "cpu", old), resolve_bf16("auto", "cuda", amx), resolve_bf16("auto", "cpu", zen4),',
      '  resolve_bf16("on", "cpu", old), resolve_bf16("off", "cpu", amx),',
      '  parse_args(["--data", "d", "--out", "o", "--bf16"]).bf16, parse_args(["--data", "d", "--out", "o"]).bf16]))',
    ].join('\n'));
    expect(r.stderr).toBe('');
    const [amx, old, cuda, zen4, on, off, bare, unset] = JSON.parse(r.stdout) as [boolean, string][];
    // AVX-512 BF16 without AMX trained worse (docs/specialise.md): fp32 there unless asked
    expect(zen4).toEqual([false, 'bfloat16 autocast: off (--bf16 auto: this CPU has avx512_bf16 but no AMX, where bfloat16 trained worse)']);
    expect(amx).toEqual([true, 'bfloat16 autocast: on (--bf16 auto: this CPU has avx512_bf16 and amx_bf16)']);
    expect(old).toEqual([false, 'bfloat16 autocast: off (--bf16 auto: this CPU has no native bfloat16)']);
    expect(cuda[0]).toBe(false);
    expect(on[0]).toBe(true);
    expect(off).toEqual([false, '']);
    // `--bf16` alone keeps meaning on; nothing given stays fp32
    expect([bare, unset]).toEqual(['on', 'off']);
  }, SLOW);

  it('rejects a directory that is not a YOLO dataset, and a --cfg that is not text, in one line naming it', () => {
    const nope = path.join(dir, 'nope');
    const r = py('-m', 'training.train', '--data', nope, '--out', path.join(dir, 'bad'));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`error: --data ${nope}: no such directory\n`);
    expect(existsSync(path.join(dir, 'bad'))).toBe(false);
    const empty = path.join(dir, 'not-a-dataset');
    cpSync(path.join(dir, 'data', 'images'), path.join(empty, 'images'), { recursive: true });
    const noClasses = py('-m', 'training.train', '--data', empty, '--out', path.join(dir, 'bad'));
    expect(noClasses.status).toBe(1);
    expect(noClasses.stderr).toBe(`error: ${path.join(empty, 'classes.txt')}: missing (a YOLO dataset needs classes.txt)\n`);
    // a .weights file given as --cfg: named, not a codec error
    const weights = path.join(dir, 'given-as.cfg');
    writeFileSync(weights, Buffer.from([0, 0, 0, 0, 2, 0, 0, 0, 0xf4, 0x8f, 0xff, 0x01]));
    const binary = py('-m', 'training.train', '--data', path.join(dir, 'data'), '--out', path.join(dir, 'bad'), '--cfg', weights);
    expect(binary.status).toBe(1);
    expect(binary.stderr).toBe(`error: ${weights}: not a text darknet .cfg file\n`);
  }, SLOW);

  it('refuses out-of-range numeric arguments in one argparse line (exit 2)', () => {
    const r = py('-c', [
      'import contextlib, io, json',
      'from training.train import parse_args',
      'def refusal(*extra):',
      '    err = io.StringIO()',
      '    try:',
      '        with contextlib.redirect_stderr(err):',
      '            parse_args(["--data", "d", "--out", "o", *extra])',
      '    except SystemExit as e:',
      '        return [e.code, err.getvalue().strip().split("\\n")[-1]]',
      '    return None',
      'bad = [["--batch", "0"], ["--threads", "0"], ["--epochs", "0"], ["--ckpt-every", "0"], ["--lr", "-1"], ["--lr", "0"], ["--lr", "nan"],',
      '       ["--max-steps", "-1"], ["--limit", "-1"], ["--warmup", "-1"], ["--eval-every", "-1"], ["--bn-recalibrate", "-1"],',
      '       ["--time-limit", "-0.5"], ["--batch", "x"]]',
      'ok = [["--max-steps", "0"], ["--time-limit", "0"], ["--warmup", "0"], ["--limit", "0"], ["--lr", "1e-4"]]',
      'print(json.dumps({"bad": [refusal(*a) for a in bad], "ok": [refusal(*a) for a in ok]}))',
    ].join('\n'));
    expect(r.stderr).toBe('');
    const { bad, ok } = JSON.parse(r.stdout) as { bad: [number, string][]; ok: null[] };
    const e = (arg: string, problem: string) => [2, `python3 -m training.train: error: argument ${arg}: ${problem}`];
    expect(bad).toEqual([
      e('--batch', "'0' is not an integer >= 1"), e('--threads', "'0' is not an integer >= 1"), e('--epochs', "'0' is not an integer >= 1"),
      e('--ckpt-every', "'0' is not an integer >= 1"), e('--lr', "'-1' is not a number > 0"), e('--lr', "'0' is not a number > 0"),
      e('--lr', "'nan' is not a number > 0"), e('--max-steps', "'-1' is not an integer >= 0"), e('--limit', "'-1' is not an integer >= 0"),
      e('--warmup', "'-1' is not an integer >= 0"), e('--eval-every', "'-1' is not an integer >= 0"),
      e('--bn-recalibrate', "'-1' is not an integer >= 0"), e('--time-limit', "'-0.5' is not a number >= 0"), e('--batch', "'x' is not an integer"),
    ]);
    // --max-steps 0 is the documented "no limit"
    expect(ok).toEqual([null, null, null, null, null]);
    const batch0 = py('-m', 'training.train', '--data', path.join(dir, 'data'), '--out', path.join(dir, 'bad-batch'), '--batch', '0');
    expect(batch0.status).toBe(2);
    expect(batch0.stderr.trim().split('\n').pop()).toBe("python3 -m training.train: error: argument --batch: '0' is not an integer >= 1");
    expect(existsSync(path.join(dir, 'bad-batch'))).toBe(false);
  }, SLOW);

  it('refuses a --val dataset whose classes.txt differs from --data\'s, naming both', () => {
    const data = path.join(dir, 'data');
    const other = path.join(dir, 'data-other-classes');
    cpSync(data, other, { recursive: true });
    const names = readFileSync(path.join(data, 'classes.txt'), 'utf8').trim().split('\n');
    writeFileSync(path.join(other, 'classes.txt'), [names[1], names[0], ...names.slice(2)].join('\n') + '\n');
    const r = py('-m', 'training.train', '--data', data, '--val', other, '--out', path.join(dir, 'bad-val'), '--max-steps', '1', '--batch', '4');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`error: ${path.join(other, 'classes.txt')} does not match ${path.join(data, 'classes.txt')}: class 0 is '${names[1]}' there, '${names[0]}' here\n`);
    expect(existsSync(path.join(dir, 'bad-val', 'last.pt'))).toBe(false);
  }, SLOW);

  it('stops on Ctrl-C with a checkpoint and exit 130, says so, and the same command continues from it', async () => {
    const cfg = path.join(dir, 'tiny-interrupted.cfg');
    writeFileSync(cfg, tinyCfg(['filters=8']));
    const out = path.join(dir, 'run-interrupted');
    const last = path.join(out, 'last.pt');
    const args = ['-m', 'training.train', '--data', path.join(dir, 'data'), '--out', out, '--cfg', cfg, '--epochs', '100000', '--batch', '4'];
    // before the training loop (at its first log line, after `import torch`, while the images are read): one
    // line, no traceback, nothing saved
    const early = await interrupted(python, args, /box loss:/);
    expect(early.stderr, `stdout when signalled: ${early.stdoutAtSignal}`).toBe('interrupted before training began\n');
    expect(early.status).toBe(130);
    expect(existsSync(last)).toBe(false);
    // after its first steps: a checkpoint, and a non-zero exit so that nothing packs a half-trained model
    const first = await interrupted(python, args, /step \d+\/300000/);
    expect(first.status, first.stderr).toBe(130);
    const stopped = /^interrupted at step (\d+) of 300000: (.*) saved; run the same command again to continue\n$/.exec(first.stderr);
    expect(stopped?.[2], first.stderr).toBe(last);
    const at = Number(stopped![1]);
    expect(at).toBeGreaterThan(0);
    expect(existsSync(last)).toBe(true);
    expect(first.stdout).not.toMatch(/^done:/m);
    const again = await interrupted(python, args, /step \d+\/300000/);
    expect(again.stdout).toContain(`resuming from ${last} at step ${at}\n`);
    expect(again.status, again.stderr).toBe(130);
    expect(Number(/^interrupted at step (\d+)/.exec(again.stderr)?.[1])).toBeGreaterThan(at);
  }, SLOW);

  it('refuses label values outside [0, 1] and non-numbers naming the file and line, as xnorcam eval does', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'xnorcam-labels-'));
    try {
      mkdirSync(path.join(root, 'labels'));
      const cases: [string, string][] = [
        ['0 1.5 0.5 0.1 0.1', 'cx 1.5 is not in [0, 1] (YOLO labels are relative to the image)'],
        ['0 0.5 0.5 -0.1 0.1', 'w -0.1 is not in [0, 1] (YOLO labels are relative to the image)'],
        ['0.5 0.5 0.5 0.1 0.1', 'expected "class cx cy w h" or "class cx cy w h score" (numbers; class an integer)'],
      ];
      const lines = ['from training.data import DataError, read_labels'];
      for (const [i, [line, want]] of cases.entries()) {
        writeFileSync(path.join(root, 'labels', `${i}.txt`), `0 0.5 0.5 0.2 0.2\n${line}\n`);
        lines.push(
          'try:',
          `    read_labels(${JSON.stringify(root)}, "images/${i}.jpg", 6); raise SystemExit("accepted: ${line}")`,
          'except DataError as e:',
          `    assert str(e) == ${JSON.stringify(`${path.join(root, 'labels', `${i}.txt`)}:2: ${want}`)}, str(e)`,
        );
      }
      expectPythonOk([...lines, 'print("ok")']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('rejects a device it cannot train on in one line, not a PyTorch stack trace', () => {
    const data = path.join(dir, 'data');
    const bad = py('-m', 'training.train', '--data', data, '--out', path.join(dir, 'bad-device'), '--device', 'tpu', '--max-steps', '1');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('error: --device tpu: not a PyTorch device (cpu, cuda, cuda:1, mps, ...)\n');
    expect(existsSync(path.join(dir, 'bad-device'))).toBe(false);
    // a GPU this PyTorch cannot use: said before the run starts (CUDA builds with a GPU go on to train)
    const probe = py('-c', 'import torch; print(int(torch.backends.cuda.is_built() and torch.cuda.is_available()))');
    if (probe.stdout.trim() === '0') {
      const cuda = py('-m', 'training.train', '--data', data, '--out', path.join(dir, 'bad-cuda'), '--device', 'cuda', '--max-steps', '1');
      expect(cuda.status).toBe(1);
      expect(cuda.stderr).toMatch(/^error: --device cuda: (this PyTorch .* is built without CUDA|no CUDA GPU is visible)[^\n]*\n$/);
    }
  });

  it('trains a few steps, exports darknet cfg/weights that convert and load, and resumes', () => {
    const data = path.join(dir, 'data');
    const r = py('-m', 'training.train', '--data', data, '--val', data, '--out', run, '--max-steps', '3', '--batch', '4', '--eval-every', '3', '--warmup', '2');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/step 3\/3/);
    expect(r.stdout).toMatch(/validation mAP@0\.5 [0-9.]+/);
    for (const f of ['best.cfg', 'best.weights', 'model.cfg', 'model.weights', 'classes.txt', 'last.pt', 'log.jsonl']) expect(existsSync(path.join(run, f))).toBe(true);
    const cfg = readFileSync(path.join(run, 'best.cfg'), 'utf8');
    expect(cfg).toMatch(/xnor=1/);
    expect(cfg).toMatch(/classes=6/);

    // Same command with a higher step budget continues from the checkpoint instead of starting over.
    const again = py('-m', 'training.train', '--data', data, '--val', data, '--out', run, '--max-steps', '4', '--batch', '4', '--eval-every', '100', '--warmup', '2');
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/resuming from .*last\.pt at step 3/);

    const c = xnorcam('convert', path.join(run, 'best.cfg'), path.join(run, 'best.weights'), '--names', path.join(run, 'classes.txt'), '-o', path.join(run, 'm.xnor'));
    expect(c.stderr).toBe('');
    expect(c.status).toBe(0);
    expect(c.stdout).toMatch(/XNOR/);
  }, SLOW);

  it('picks its best checkpoint by class-agnostic AP@0.5 with --select agnostic', () => {
    // The figure itself: a box of the wrong class on its object scores 0 for the class and 1 as any class.
    expectPythonOk([
      'import numpy as np',
      'from training.yolo import average_precision, class_agnostic_ap',
      'dets = [[(1, 0.9, .5, .5, .2, .2)], []]',
      'gts = [np.array([[0, .5, .5, .2, .2]], np.float32), np.zeros((0, 5), np.float32)]',
      'assert average_precision(dets, gts, 2, 0.5) == {0: 0.0}',
      'assert class_agnostic_ap(dets, gts) == 1.0',
      'assert class_agnostic_ap([[(0, 0.9, .1, .1, .1, .1)], []], gts) == 0.0, "a box elsewhere is no hit"',
      'print("ok")',
    ]);
    const data = path.join(dir, 'data');
    const out = path.join(dir, 'run-select');
    const r = py('-m', 'training.train', '--data', data, '--val', data, '--out', out, '--max-steps', '3', '--batch', '4', '--eval-every', '1',
      '--warmup', '1', '--bn-recalibrate', '0', '--select', 'agnostic');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('best checkpoint by validation class-agnostic AP@0.5');
    const figures = [...r.stdout.matchAll(/validation mAP@0\.5 [0-9.]+ class-agnostic ([0-9.]+)/g)].map((m) => Number(m[1]));
    expect(figures.length).toBe(3);
    const best = Number(/best validation class-agnostic AP@0\.5 ([0-9.]+)/.exec(r.stdout)?.[1]);
    expect(best).toBe(Math.max(...figures));
    // Resumed with the other figure, the old best is not compared with the new one.
    const resumed = py('-m', 'training.train', '--data', data, '--val', data, '--out', out, '--max-steps', '4', '--batch', '4', '--eval-every', '1',
      '--warmup', '1', '--bn-recalibrate', '0', '--select', 'map');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('the best checkpoint so far was chosen by class-agnostic AP@0.5; from here by mAP@0.5');
    const map4 = Number(/step 4 validation mAP@0\.5 ([0-9.]+)/.exec(resumed.stdout)?.[1]);
    expect(Number(/best validation mAP@0\.5 ([0-9.]+)/.exec(resumed.stdout)?.[1])).toBe(map4);
    const bad = py('-m', 'training.train', '--data', data, '--out', out, '--select', 'f1');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--select: invalid choice: 'f1'/);
  }, SLOW);

  it('decodes a dataset on several threads into the same images, in path order, as one at a time', () => {
    // At the network size (no resize) and at another size (darknet's resize); 12 images over 4 threads.
    expectPythonOk([
      'import numpy as np, training.data as d',
      'd.decode_workers = lambda: 4',
      'for w, h in ((320, 192), (160, 96)):',
      `    ds = d.Dataset(${JSON.stringify(path.join(dir, 'data'))}, w, h, None, lambda *a: None)`,
      '    one = np.stack([d.load_image(p, w, h) for p in ds.paths])',
      '    assert one.dtype == ds.images.dtype == np.uint8 and np.array_equal(one, ds.images), (w, h)',
      '    assert len(set(map(bytes, ds.images))) == len(ds), "images repeated"',
      'print("ok")',
    ]);
  }, SLOW);

  it('batches on the training device like the host path, and makes checkpoints and evaluations from exported weights', () => {
    const data = path.join(dir, 'data');
    // Without augmentation the device batcher returns exactly the host batch; with it every box stays
    // inside the image and no image gains boxes.
    expectPythonOk([
      'import numpy as np, torch',
      ...openDataset(data),
      'b = DeviceBatcher(ds, torch.device("cpu"), 5)',
      'idx = np.array([3, 0, 7])',
      'hi, ht = ds.batch(idx, augment=False, rng=np.random.default_rng(0))',
      'di, dt = b.batch(idx, augment=False)',
      'assert torch.equal(hi, di), "images differ"',
      'key = lambda t: sorted(map(tuple, t.numpy().round(6).tolist()))',
      'assert key(ht) == key(dt), "targets differ"',
      'for _ in range(20):',
      '    ai, at = b.batch(idx)',
      '    assert ai.shape == hi.shape and float(ai.min()) >= 0 and float(ai.max()) <= 1',
      '    x1, x2 = at[:, 2] - at[:, 4] / 2, at[:, 2] + at[:, 4] / 2',
      '    assert bool(((x1 >= -1e-5) & (x2 <= 1 + 1e-5)).all()), "box outside the image"',
      '    for k in range(3): assert int((at[:, 0] == k).sum()) <= int((ht[:, 0] == k).sum())',
      'print("ok", len(ht))',
    ], /^ok [1-9]/);

    const pt = path.join(dir, 'from-weights.pt');
    const ck = py('-m', 'training.checkpoint', '--cfg', path.join(run, 'best.cfg'), '--weights', path.join(run, 'best.weights'), '--classes', path.join(run, 'classes.txt'), '-o', pt, '--half');
    expect(ck.stderr).toBe('');
    expect(ck.status).toBe(0);
    const tuned = path.join(dir, 'tuned');
    const r = py('-m', 'training.train', '--data', data, '--val', data, '--out', tuned, '--init', pt, '--batcher', 'device', '--max-steps', '2', '--batch', '4', '--eval-every', '2', '--warmup', '1');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/initialising from .*from-weights\.pt/);
    expect(r.stdout).toMatch(/step 2\/2/);

    const ev = py('-m', 'training.evaluate', '--cfg', path.join(tuned, 'best.cfg'), '--weights', path.join(tuned, 'best.weights'), '--data', data);
    expect(ev.status).toBe(0);
    const m = JSON.parse(ev.stdout) as { map50: number; images: number; perClass: Record<string, number> };
    expect(m.images).toBe(12);
    expect(m.map50).toBeGreaterThanOrEqual(0);
    expect(m.map50).toBeLessThanOrEqual(1);
    const bad = py('-m', 'training.evaluate', '--cfg', path.join(tuned, 'best.cfg'), '--weights', path.join(run, 'nope.weights'), '--data', data);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  }, SLOW);

  it('scores boxes by CIoU with --box-loss ciou: no loss for a box on its truth, a pull towards it otherwise', () => {
    const check = py('-c', [
      'import json, math, torch',
      'from training.yolo import YoloLoss, ciou',
      'from training.train import parse_args',
      'heads = [{"mask": [0, 1, 2], "anchors": [(10, 14), (23, 27), (37, 58)], "classes": 2, "layer": 1}]',
      'loss = YoloLoss(heads, [(10, 14), (23, 27), (37, 58)], 64, 64, 2, box_loss="ciou")',
      // CIoU by hand: the same box; unit boxes 1 apart (IoU 0, enclosing diagonal^2 5); 2x1 against 1x2 on one centre
      'a = torch.tensor([[1., 1., 2., 2.], [0., 0., 1., 1.], [0., 0., 2., 1.]])',
      'b = torch.tensor([[1., 1., 2., 2.], [1., 0., 1., 1.], [0., 0., 1., 2.]])',
      'v = 4 / math.pi ** 2 * (math.atan(0.5) - math.atan(2)) ** 2',
      'want = [1.0, -0.2, 1 / 3 - v / (2 / 3 + v) * v]',
      // anchor 0 of cell (1, 1) predicts exactly the truth's box (offsets 0.5, its anchor's size)
      'out = torch.zeros(1, 3 * 7, 2, 2)',
      'truth = torch.tensor([[0, 1, 0.75, 0.75, 10 / 64, 14 / 64]])',
      '_, on = loss([out], truth)',
      'moved = torch.zeros(1, 3 * 7, 2, 2); moved.view(1, 3, 7, 2, 2)[0, 0, 0, 1, 1] = 1.5; moved.requires_grad_(True)',
      'l, off = loss([moved], truth)',
      'l.backward()',
      'gx = float(moved.grad.view(1, 3, 7, 2, 2)[0, 0, 0, 1, 1])',
      'bad = None',
      'try:',
      '    YoloLoss(heads, [(10, 14), (23, 27), (37, 58)], 64, 64, 2, box_loss="giou")',
      'except ValueError as e:',
      '    bad = str(e)',
      'print(json.dumps({"ciou": ciou(a, b).tolist(), "want": want, "on": on["box"], "off": off["box"], "gx": gx, "bad": bad,',
      '  "flag": parse_args(["--data", "d", "--out", "o", "--box-loss", "ciou"]).box_loss, "default": parse_args(["--data", "d", "--out", "o"]).box_loss}))',
    ].join('\n'));
    expect(check.stderr).toBe('');
    const r = JSON.parse(check.stdout) as { ciou: number[]; want: number[]; on: number; off: number; gx: number; bad: string; flag: string; default: string };
    r.ciou.forEach((v, i) => expect(v).toBeCloseTo(r.want[i], 5));
    expect(r.on).toBeCloseTo(0, 5);
    expect(r.off).toBeGreaterThan(0.1);
    // x offset too far right: the gradient lowers it
    expect(r.gx).toBeGreaterThan(0);
    expect(r.bad).toBe("box loss 'giou': expected yolov3 or ciou");
    expect([r.flag, r.default]).toEqual(['ciou', 'yolov3']);
  }, SLOW);

  it('treats class -1 labels as ignore regions: no positives, no background push where a prediction overlaps one', () => {
    expectPythonOk([
      'import torch',
      ...TINY_YOLO_LOSS,
      'torch.manual_seed(0)',
      'out = torch.randn(1, 3 * 7, 2, 2)',
      'p = out.view(1, 3, 7, 2, 2)',
      // anchor 0 of cell (0, 0) predicts a box centred at (0.25, 0.25) of exactly its anchor size, objectness high
      'p[0, 0, 0:4, 0, 0] = 0; p[0, 0, 4, 0, 0] = 5',
      'box = [0.25, 0.25, 10 / 64, 14 / 64]',
      'real = torch.tensor([[0, 1, 0.75, 0.75, 0.3, 0.3]])',
      'ign = torch.tensor([[0, -1, *box]])',
      'l0, p0 = loss([out], real)',
      'l1, p1 = loss([out], torch.cat([real, ign]))',
      'assert p1["box"] == p0["box"] and p1["cls"] == p0["cls"], (p0, p1)',
      'assert p1["obj"] < p0["obj"] - 1, (p0, p1)',
      'l2, p2 = loss([out], ign)',
      'assert p2["box"] == 0 and p2["cls"] == 0, p2',
      'print("ok", round(p0["obj"], 3), round(p1["obj"], 3))',
    ], /^ok /);
  }, SLOW);

  it('teaches a soft label\'s score as the objectness, carries it through augmentation on both batchers, and validates without those below 0.5', () => {
    const data = path.join(dir, 'data-soft');
    cpSync(path.join(dir, 'data'), data, { recursive: true });
    const first = path.join(data, 'labels', '000000.txt');
    const lines = readFileSync(first, 'utf8').trim().split('\n');
    // a score on the first object only: the other lines keep the default 1
    writeFileSync(first, [`${lines[0]} 0.3`, ...lines.slice(1)].join('\n') + '\n');
    expectPythonOk([
      'import math, numpy as np, torch',
      ...openDataset(data),
      'lab = ds.labels[0]',
      'assert lab.shape[1] == 6 and abs(lab[0, 5] - 0.3) < 1e-6 and bool((lab[1:, 5] == 1).all()), lab',
      // validation scores against objects of even odds or better: the 0.3 object is not one a detector must find
      'from training.data import scored_objects',
      'assert len(lab) > 1 and np.array_equal(scored_objects(lab), lab[1:]), scored_objects(lab)',
      'b = DeviceBatcher(ds, torch.device("cpu"), 3)',
      'for k in range(30):',
      '    _, ht = ds.batch(np.array([0]), augment=True, rng=np.random.default_rng(k))',
      '    _, dt = b.batch(np.array([0]))',
      '    for t in (ht, dt): assert t.shape[1] == 7 and all(min(abs(v - 0.3), abs(v - 1)) < 1e-5 for v in t[:, 6].tolist()), t',
      // the objectness loss of a positive is smallest where the prediction equals its score
      ...TINY_YOLO_LOSS,
      'def obj(logit, score):',
      '    out = torch.full((1, 3 * 7, 2, 2), -20.0)',
      '    p = out.view(1, 3, 7, 2, 2); p[0, 0, 0:4, 0, 0] = 0; p[0, 0, 4, 0, 0] = logit',
      '    return loss([out], torch.tensor([[0, 1, 0.25, 0.25, 10 / 64, 14 / 64, score]]))[1]["obj"]',
      'at = math.log(0.3 / 0.7)',
      'assert obj(at, 0.3) < min(obj(at - 1, 0.3), obj(at + 1, 0.3)), [obj(at + d, 0.3) for d in (-1, 0, 1)]',
      'assert obj(at + 1, 1.0) < obj(at, 1.0)',
      'print("ok")',
    ]);
    writeFileSync(first, `${lines[0]} 1.5\n`);
    const bad = py('-m', 'training.train', '--data', data, '--out', path.join(dir, 'soft-bad'), '--max-steps', '1');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/000000\.txt:1: score 1\.5 is not in \(0, 1\]/);
  }, SLOW);

  it('mirrors half of the training images, and none with --flip off, leaving every other augmentation draw as it was', () => {
    expectPythonOk([
      'import numpy as np, torch',
      ...openDataset(path.join(dir, 'data')),
      'idx = np.arange(len(ds))',
      // host: the same seed with and without mirroring gives the same images, or exact mirrors (boxes too)
      'mirrored = 0',
      'for k in range(4):',
      '    on_i, on_t = ds.batch(idx, augment=True, rng=np.random.default_rng(k))',
      '    off_i, off_t = ds.batch(idx, augment=True, rng=np.random.default_rng(k), flip=False)',
      '    for b in idx:',
      '        same = torch.equal(on_i[b], off_i[b])',
      '        mirror = torch.allclose(on_i[b], off_i[b].flip(2), atol=1e-6)',
      '        assert same or mirror, (k, b)',
      '        a, o = on_t[on_t[:, 0] == b], off_t[off_t[:, 0] == b]',
      '        if not same:',
      '            mirrored += 1',
      '            a = a.clone(); a[:, 2] = 1 - a[:, 2]',
      '        assert torch.allclose(a, o, atol=1e-6), (k, b)',
      'assert 0.3 * 4 * len(idx) < mirrored < 0.7 * 4 * len(idx), mirrored',
      // device batcher: with the same generator seed, likewise
      'on, off = DeviceBatcher(ds, torch.device("cpu"), 5), DeviceBatcher(ds, torch.device("cpu"), 5)',
      'dm = 0',
      'for k in range(4):',
      '    oi, _ = on.batch(idx)',
      '    fi, _ = off.batch(idx, flip=False)',
      '    for b in idx:',
      '        same = torch.allclose(oi[b], fi[b], atol=1e-5)',
      '        assert same or torch.allclose(oi[b], fi[b].flip(2), atol=1e-5), (k, b)',
      '        dm += not same',
      'assert dm > 0, dm',
      'print("ok", mirrored, dm)',
    ]);
  }, SLOW);

  it('zooms into training images up to --zoom, and not at all with --zoom 1 (boxes stay where the camera put them)', () => {
    expectPythonOk([
      'import numpy as np, torch',
      ...openDataset(path.join(dir, 'data')),
      'idx = np.arange(len(ds))',
      '_, plain = ds.batch(idx, augment=False, rng=np.random.default_rng(0))',
      'dev = DeviceBatcher(ds, torch.device("cpu"), 3)',
      'moved = {"host": 0, "device": 0}',
      'for k in range(4):',
      '    for zoom in (1.0, 1.35):',
      '        _, host = ds.batch(idx, augment=True, rng=np.random.default_rng(k), flip=False, zoom=zoom)',
      '        _, device = dev.batch(idx, flip=False, zoom=zoom)',
      '        for name, t in (("host", host), ("device", device)):',
      '            same = t.shape == plain.shape and torch.allclose(t, plain, atol=1e-5)',
      '            if zoom == 1.0: assert same, (name, k)',
      '            else: moved[name] += not same',
      'assert moved["host"] > 0 and moved["device"] > 0, moved',
      'print("ok", moved)',
    ]);
    const bad = py('-m', 'training.train', '--data', path.join(dir, 'data'), '--out', path.join(dir, 'zoom-bad'), '--zoom', '0.9');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n').pop()).toBe("python3 -m training.train: error: argument --zoom: '0.9' is not a zoom between 1 and 3");
  }, SLOW);

  it('re-estimates batch norm statistics from unaugmented training images before validating and exporting (--bn-recalibrate)', () => {
    expectPythonOk([
      'import numpy as np, torch',
      'from training.data import Dataset',
      'from training.darknet_cfg import parse_cfg',
      'from training.model import Network',
      'from training.train import recalibrate_bn, parse_args',
      `ck = torch.load(${JSON.stringify(path.join(repoRoot, 'models', 'xnorcam-traffic.pt'))}, map_location="cpu", weights_only=False)`,
      'net = Network(parse_cfg(ck["cfg"], "ckpt")); net.load_state_dict(ck["model"], strict=False)',
      `ds = Dataset(${JSON.stringify(path.join(dir, 'data'))}, net.width, net.height, None, lambda *a: None)`,
      'bn = net.layers[0].norm',
      'bn.running_mean.fill_(100.0); bn.running_var.fill_(1e-3)',  // stale statistics, far off
      'net.eval()',
      'recalibrate_bn(net, ds, np.arange(8), 4, "cpu", 8)',
      'assert not net.training and bn.momentum == 0.03, (net.training, bn.momentum)',
      // layer 0's statistics are now its conv output's over the 8 plain images (two equal batches of 4)
      'x = torch.from_numpy(ds.images[:8]).permute(0, 3, 1, 2).float() / 255',
      'y = net.layers[0].conv(x)',
      'want_mean = y.mean(dim=(0, 2, 3))',
      'want_var = torch.stack([y[k:k + 4].var(dim=(0, 2, 3), unbiased=True) for k in (0, 4)]).mean(0)',
      'assert torch.allclose(bn.running_mean, want_mean, rtol=1e-4, atol=1e-4), (bn.running_mean[:4], want_mean[:4])',
      'assert torch.allclose(bn.running_var, want_var, rtol=1e-3, atol=1e-4), (bn.running_var[:4], want_var[:4])',
      // a limit below the image count takes that many, spread evenly; 0 leaves the statistics alone
      'bn.running_mean.fill_(100.0)',
      'recalibrate_bn(net, ds, np.arange(8), 4, "cpu", 0)',
      'assert bool((bn.running_mean == 100).all())',
      'recalibrate_bn(net, ds, np.arange(len(ds)), 4, "cpu", 4)',
      'four = net.layers[0].conv(torch.from_numpy(ds.images[np.linspace(0, len(ds) - 1, 4).round().astype(int)]).permute(0, 3, 1, 2).float() / 255)',
      'assert torch.allclose(bn.running_mean, four.mean(dim=(0, 2, 3)), rtol=1e-4, atol=1e-4)',
      'assert parse_args(["--data", "d", "--out", "o"]).bn_recalibrate == 512',
      // statistics for inference: a [dropout] before a batch norm stays off while they are gathered (else they vary by draw)
      `small = Dataset(${JSON.stringify(path.join(dir, 'data'))}, 64, 64, None, lambda *a: None)`,
      `dnet = Network(parse_cfg(${JSON.stringify(TINY_DROPOUT_CFG)}))`,
      'stats = []',
      'for seed in (1, 2):',
      '    torch.manual_seed(seed); recalibrate_bn(dnet, small, np.arange(8), 4, "cpu", 8); stats.append(dnet.layers[2].norm.running_var.clone())',
      'assert torch.equal(stats[0], stats[1]), (stats[0][:4], stats[1][:4])',
      'print("ok")',
    ]);
    // models trained before it: training.recalibrate re-estimates a checkpoint's statistics and exports cfg/weights
    const fixed = path.join(dir, 'recalibrated');
    const rc = py('-m', 'training.recalibrate', '--init', path.join(repoRoot, 'models', 'xnorcam-traffic.pt'), '--data', path.join(dir, 'data'), '--images', '8', '--out', fixed);
    expect(rc.status, rc.stderr).toBe(0);
    expect(rc.stdout).toContain('statistics from 8 images of');
    const same = py('-m', 'training.recalibrate', '--init', path.join(repoRoot, 'models', 'xnorcam-traffic.pt'), '--images', '0', '--out', path.join(dir, 'unchanged'));
    expect(same.status, same.stderr).toBe(0);
    expect(readFileSync(path.join(fixed, 'model.weights')).equals(readFileSync(path.join(dir, 'unchanged', 'model.weights')))).toBe(false);
    expect(readFileSync(path.join(fixed, 'model.cfg'), 'utf8')).toBe(readFileSync(path.join(dir, 'unchanged', 'model.cfg'), 'utf8'));
    const packed = xnorcam('convert', path.join(fixed, 'model.cfg'), path.join(fixed, 'model.weights'), '--names', path.join(fixed, 'classes.txt'), '-o', path.join(dir, 'recalibrated.xnor'));
    expect(packed.status, packed.stderr).toBe(0);
    const noData = py('-m', 'training.recalibrate', '--init', path.join(repoRoot, 'models', 'xnorcam-traffic.pt'), '--out', path.join(dir, 'never'));
    expect(noData.status).toBe(2);
    expect(noData.stderr.trim()).toBe('error: --data is needed to re-estimate the statistics (or --images 0 to export unchanged)');
    // A checkpoint whose weights do not fit its cfg is refused in one line, never exported half-loaded.
    for (const [name, damage] of [['missing', 'del m[k]'], ['reshaped', 'm[k] = m[k][:1]']]) {
      const broken = path.join(dir, `${name}.pt`);
      const made = py('-c', [
        'import torch',
        `c = torch.load(${JSON.stringify(path.join(repoRoot, 'models', 'xnorcam-traffic-320.pt'))}, weights_only=False)`,
        'm = c["model"]; k = "layers.2.norm.weight"',
        damage,
        `torch.save(c, ${JSON.stringify(broken)})`,
      ].join('\n'));
      expect(made.status, made.stderr).toBe(0);
      const refused = py('-m', 'training.recalibrate', '--init', broken, '--images', '0', '--out', path.join(dir, `never-${name}`));
      expect(refused.status).toBe(1);
      expect(refused.stderr.trim()).toMatch(new RegExp(`^error: .*${name}\\.pt: its weights do not fit its own cfg.*layers\\.2\\.norm\\.weight[^\\n]*$`));
      expect(existsSync(path.join(dir, `never-${name}`))).toBe(false);
    }
    const run2 = path.join(dir, 'run-bn');
    const r = py('-m', 'training.train', '--data', path.join(dir, 'data'), '--out', run2, '--max-steps', '2', '--batch', '4', '--eval-every', '2', '--warmup', '1', '--bn-recalibrate', '8');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('batch norm statistics re-estimated from 8 training images before each validation and export');
  }, SLOW);

  it('moves a trained network to another input size (--size), anchors scaled, ignore-region labels accepted', () => {
    const data = path.join(dir, 'data-ignore');
    cpSync(path.join(dir, 'data'), data, { recursive: true });
    const lbl = path.join(data, 'labels', '000000.txt');
    writeFileSync(lbl, readFileSync(lbl, 'utf8') + '-1 0.5 0.5 0.1 0.1\n');
    const out = path.join(dir, 'resized');
    const r = py('-m', 'training.train', '--data', data, '--out', out, '--init', path.join(run, 'last.pt'), '--anchors', 'cfg', '--size', '320x320', '--max-steps', '1', '--batch', '4');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/training xnor 320x320/);
    const anchors = (cfg: string) => /anchors\s*=\s*([^\n]+)/.exec(cfg)![1].split(',').map((v) => Number(v.trim()));
    const before = anchors(readFileSync(path.join(run, 'best.cfg'), 'utf8'));
    const after = anchors(readFileSync(path.join(out, 'best.cfg'), 'utf8'));
    expect(after.filter((_, i) => i % 2 === 0)).toEqual(before.filter((_, i) => i % 2 === 0));
    after.filter((_, i) => i % 2 === 1).forEach((h, k) => expect(Math.abs(h - (before[2 * k + 1] * 320) / 192)).toBeLessThanOrEqual(0.5 + 1e-9));
    const bad = py('-m', 'training.train', '--data', data, '--out', path.join(dir, 'bad-size'), '--size', '300x320', '--max-steps', '1');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^error: --size 300x320: width and height must be positive multiples of 32\n$/);
  }, SLOW);

  it('runs behind `xnorcam train`, which documents itself and packs the result with --model', () => {
    const help = xnorcam('train', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: xnorcam train --data <dir> --out <run-dir>/);
    const out = path.join(dir, 'run-cli');
    const r = xnorcam('train', '--data', path.join(dir, 'data'), '--out', out, '--max-steps', '1', '--batch', '4', '--model', path.join(out, 'cli.xnor'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/done: 1 steps/);
    expect(existsSync(path.join(out, 'cli.xnor'))).toBe(true);
    // --precision auto (the default): bfloat16 exactly where this CPU has AMX
    const nativeBf16 = /^flags\s*:.*\bamx_bf16\b/m.test(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '');
    expect(r.stdout + r.stderr).toContain(nativeBf16 ? 'bfloat16 autocast: on (--bf16 auto: this CPU has' : 'bfloat16 autocast: off (--bf16 auto');
    // the trainer's own box loss unless asked
    expect(r.stdout).toContain('box loss: yolov3');
    // --precision fp32 and --box-loss ciou are independent: one run (a trainer start each is seconds of PyTorch import) checks both
    const fp32Ciou = xnorcam('train', '--data', path.join(dir, 'data'), '--out', path.join(dir, 'run-fp32-ciou'), '--max-steps', '1', '--batch', '4',
      '--precision', 'fp32', '--box-loss', 'ciou');
    expect(fp32Ciou.status, fp32Ciou.stderr).toBe(0);
    expect(fp32Ciou.stdout + fp32Ciou.stderr, '--precision fp32: no bfloat16').not.toContain('bfloat16 autocast: on');
    expect(fp32Ciou.stdout, '--box-loss ciou reaches the trainer').toContain('box loss: ciou');
    const bad = xnorcam('train', '--out', out);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('error: xnorcam train: --data <dir> is required\n');
    const badPrecision = xnorcam('train', '--data', path.join(dir, 'data'), '--out', out, '--precision', 'fp16');
    expect(badPrecision.status).toBe(2);
    expect(badPrecision.stderr).toBe('error: --precision fp16: expected one of auto, fp32, bf16\n');
    const badDevice = xnorcam('train', '--data', path.join(dir, 'data'), '--out', out, '--device', 'gpu');
    expect(badDevice.status).toBe(2);
    expect(badDevice.stderr).toBe('error: --device gpu: expected cpu, cuda, cuda:N or mps\n');
    const both = xnorcam('train', '--data', path.join(dir, 'data'), '--out', out, '--precision', 'fp32', '--bf16');
    expect(both.status).toBe(2);
    expect(both.stderr).toBe('error: --bf16 contradicts --precision fp32\n');
  }, SLOW);

  it('`xnorcam train` packs no model from an interrupted run, and checks --model\'s folder before training', async () => {
    const cfg = path.join(dir, 'tiny-cli-interrupted.cfg');
    writeFileSync(cfg, tinyCfg(['filters=8']));
    const out = path.join(dir, 'run-cli-interrupted');
    const model = path.join(dir, 'interrupted.xnor');
    const r = await interrupted(process.execPath, [bin, 'train', '--data', path.join(dir, 'data'), '--out', out, '--cfg', cfg, '--epochs', '100000',
      '--batch', '4', '--model', model], /step \d+\/300000/);
    expect(r.status, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/^interrupted at step \d+ of 300000: /m);
    expect(r.stderr.trim().split('\n').pop()).toBe(`error: xnorcam train: the run was interrupted, so ${model} was not written; run the same command again to continue from ${path.join(out, 'last.pt')}`);
    expect(existsSync(model)).toBe(false);
    expect(existsSync(path.join(out, 'best.weights'))).toBe(true);
    const nowhere = path.join(dir, 'no-such-folder', 'x.xnor');
    const bad = xnorcam('train', '--data', path.join(dir, 'data'), '--out', path.join(dir, 'run-nowhere'), '--model', nowhere);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(`error: --model ${nowhere}: folder ${path.dirname(nowhere)} does not exist\n`);
    expect(existsSync(path.join(dir, 'run-nowhere'))).toBe(false);
  }, SLOW);

  it('PyTorch and the engine compute the same layer outputs on the exported model', async () => {
    // every layer's own output, as darknet defines it (no fused, bit-linked or in-place yolo tensors)
    const det = await loadDetector(path.join(run, 'm.xnor'), { backend: 'reference', keepLayerOutputs: true });
    const img = await decodeImageFile(path.join(dir, 'data', 'images', '000000.jpg'));
    expect([img.width, img.height]).toEqual([det.inputWidth, det.inputHeight]);
    expectSameLayerOutputs(det, img.rgb, path.join(run, 'best.cfg'), path.join(run, 'best.weights'), 'trained');
  }, SLOW);

  it("PyTorch and the engine compute the same layer outputs on darknet's own XNOR Tiny-YOLO (bin_output layers)", async () => {
    // AlexeyAB's XNOR cfgs mark layers bin_output=1 with activation=leaky; darknet runs those not read by a
    // [route] or [shortcut] linear, and so must a network trained from such a cfg.
    const xa = path.join(fixtures, 'darknet-xnor-a');
    const cfg = path.join(xa, 'yolov3-tiny_xnor_160_slim.cfg');
    const weights = path.join(xa, 'weights_a.weights');
    expect(readFileSync(cfg, 'utf8')).toMatch(/bin_output\s*=\s*1/);
    const det = await loadDetector({ cfg, weights, names: path.join(xa, 'classes.names') }, { backend: 'reference', keepLayerOutputs: true });
    const rgb = await sharp(path.join(xa, 'image_a.png')).resize(det.inputWidth, det.inputHeight, { fit: 'fill' }).removeAlpha().raw().toBuffer();
    expectSameLayerOutputs(det, new Uint8Array(rgb), cfg, weights, 'darknet-xnor-a');
  }, SLOW);

  it('PyTorch and the engine compute the same layer outputs on Yolo-Fastest (grouped convolutions, dropout)', async () => {
    // A real float model of the family users bring as teachers: the trainer builds and loads it as darknet runs it.
    const yf = path.join(fixtures, 'yolo-fastest');
    const cfg = path.join(yf, 'yolo-fastest-1.1.cfg');
    const weights = path.join(yf, 'yolo-fastest-1.1.weights');
    const det = await loadDetector({ cfg, weights, names: path.join(yf, 'coco.names') }, { backend: 'reference', keepLayerOutputs: true });
    const rgb = await sharp(path.join(yf, 'dog.jpg')).resize(det.inputWidth, det.inputHeight, { fit: 'fill' }).removeAlpha().raw().toBuffer();
    expect(det.network.spec.layers.some((l) => l.type === 'dropout')).toBe(true);
    expectSameLayerOutputs(det, new Uint8Array(rgb), cfg, weights, 'yolo-fastest');
  }, SLOW);

  it("trains Yolo-Fastest's float network (grouped convolutions, dropout) into a model the engine runs", async () => {
    const out = path.join(dir, 'run-yolo-fastest');
    const r = xnorcam('train', '--data', path.join(dir, 'data'), '--out', out, '--cfg', path.join(fixtures, 'yolo-fastest', 'yolo-fastest-1.1.cfg'),
      '--max-steps', '1', '--batch', '4', '--model', path.join(out, 'yf.xnor'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/training float 320x320 on \d+ images/); // no xnor=1 layer: said so, not called an XNOR run
    const det = await loadDetector(path.join(out, 'yf.xnor'), { backend: 'reference' });
    expect(det.network.spec.layers.some((l) => l.type === 'convolutional' && l.groups > 1)).toBe(true);
    expect(det.classNames).toEqual(['car', 'truck', 'bus', 'motorcycle', 'bicycle', 'person']);
    det.dispose();
  }, SLOW);

  it('refuses a binarised grouped convolution, groups that do not divide the channels and a bad dropout probability, naming the cfg line', () => {
    expectPythonOk([
      'from training.darknet_cfg import CfgError, parse_cfg',
      'from training.model import Network',
      'def refusal(text):',
      '    try:',
      '        Network(parse_cfg(text))',
      '    except CfgError as e:',
      '        return str(e)',
      `assert Network(parse_cfg(${JSON.stringify(tinyCfg(['filters=8', 'groups=8']))})).layers[1].conv.groups == 8`,
      `e = refusal(${JSON.stringify(tinyCfg(['filters=8', 'groups=8', 'xnor=1']))}); assert e == 'line 10: a grouped convolution cannot be xnor=1', e`,
      `e = refusal(${JSON.stringify(tinyCfg(['filters=8', 'groups=3']))}); assert e == 'line 10: groups=3 does not divide 8 input and 8 output channels', e`,
      `e = refusal(${JSON.stringify(tinyCfg(['filters=6', 'groups=4']))}); assert e == 'line 10: groups=4 does not divide 8 input and 6 output channels', e`,
      `e = refusal(${JSON.stringify(tinyCfg(['filters=8'], ['[dropout]', 'probability=high']))}); assert e == 'line 10: [dropout] probability=high is not a number in [0, 1)', e`,
      // the float twin (--float) trains every xnor=1 layer as a float one, grouped ones included
      `assert Network(parse_cfg(${JSON.stringify(tinyCfg(['filters=8', 'groups=8', 'xnor=1']))}), force_float=True).layers[1].conv.groups == 8`,
      'print("ok")',
    ]);
  }, SLOW);

  it('refuses cfg keys the engine does not know, and values it runs differently, naming the file and line', () => {
    // the engine's own lists, so that what trains here is what `xnorcam convert` accepts
    const lists = py('-c', 'import json; from training.darknet_cfg import USED_KEYS, TRAINING_KEYS; print(json.dumps([USED_KEYS, TRAINING_KEYS]))');
    expect(lists.stderr).toBe('');
    expect(JSON.parse(lists.stdout)).toEqual([USED_KEYS, TRAINING_KEYS]);
    // the second conv's options start at line 11, a section `between` at line 10; the [yolo] ends at line 22
    const yolo = (extra: string) => `${tinyCfg(['filters=8'])}\n${extra}`;
    const refused: [string, string][] = [
      [tinyCfg(['filtrs=16']), "tiny.cfg:11: unknown key 'filtrs' in [convolutional]"],
      [tinyCfg(['filters=8', 'filters=16']), "tiny.cfg:12: duplicate key 'filters' in [convolutional] (first at line 11)"],
      [tinyCfg(['filters=8', 'dilation=2']), 'tiny.cfg:12: dilation=2 in [convolutional] is not supported by the trainer (only 1)'],
      [tinyCfg(['filters=8', 'flipped=1']), 'tiny.cfg:12: flipped=1 in [convolutional] is not supported by the trainer (only 0)'],
      [tinyCfg(['filters=8', 'stride_x=2', 'stride_y=2']), "tiny.cfg:12: stride_x=2 in [convolutional] is not supported by the trainer (only the layer's stride, 1)"],
      [tinyCfg(['filters=8'], ['[convolutional]', 'filters=8', 'activation=mish']), 'tiny.cfg:12: activation=mish in [convolutional] is not supported by the trainer (leaky, linear, relu, logistic)'],
      [tinyCfg(['filters=8'], ['[route]', 'layers=-1', 'groups=2', 'group_id=1']), 'tiny.cfg:12: groups=2 in [route] is not supported by the trainer (only 1)'],
      [tinyCfg(['filters=8'], ['[upsample]', 'stride=1', 'scale=2']), 'tiny.cfg:12: scale=2 in [upsample] is not supported by the trainer (only 1)'],
      [yolo('scale_x_y=1.05'), 'tiny.cfg:23: scale_x_y=1.05 in [yolo] is not supported by the trainer (only 1)'],
    ];
    expectPythonOk([
      'from training.darknet_cfg import CfgError, parse_cfg',
      'from training.model import Network',
      'def refusal(text):',
      '    try:',
      '        Network(parse_cfg(text, "tiny.cfg"))',
      '    except CfgError as e:',
      '        return str(e)',
      `for text, want in ${JSON.stringify(refused)}:`,
      '    got = refusal(text); assert got == want, (got, want)',
      // accepted: keys in any case (as the engine reads them), a scale_x_y of 1 written otherwise, the float twin of a bin_output layer
      `assert refusal(${JSON.stringify(tinyCfg(['Filters=8', 'stride_x=1']))}) is None`,
      `assert refusal(${JSON.stringify(yolo('scale_x_y = 1.00'))}) is None`,
      `Network(parse_cfg(${JSON.stringify(tinyCfg(['filters=8', 'xnor=1', 'bin_output=1']))}), force_float=True)`,
      // a bin_output xnor layer that no [route] or [shortcut] reads runs linear in darknet and the engine: trained so
      `net = Network(parse_cfg(${JSON.stringify(tinyCfg(['filters=8', 'xnor=1', 'bin_output=1']))}))`,
      'assert [l.activation for l in net.layers if getattr(l, "xnor", False)] == ["linear"], [l.activation for l in net.layers]',
      // a [maxpool] without stride strides 1, as darknet's and the engine's
      `net = Network(parse_cfg(${JSON.stringify(tinyCfg(['filters=8'], ['[maxpool]', 'size=2']))}))`,
      'assert net.shapes[1] == (8, 64, 64), net.shapes[1]',
      'print("ok")',
    ]);
    const cfg = path.join(dir, 'typo.cfg');
    writeFileSync(cfg, tinyCfg(['filtrs=16']));
    const r = py('-m', 'training.train', '--data', path.join(dir, 'data'), '--out', path.join(dir, 'run-typo'), '--cfg', cfg, '--max-steps', '1', '--batch', '4');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`error: ${cfg}:11: unknown key 'filtrs' in [convolutional]\n`);
  }, SLOW);
});
