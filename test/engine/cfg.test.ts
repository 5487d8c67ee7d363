import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { checkDetectorGraph, parseCfg, parseCfgFile } from '../../src/engine/darknet/cfg.js';
import type { ConvSpec, RouteSpec } from '../../src/engine/model.js';
import { fixtures } from './helpers.js';

const cfgDir = path.join(fixtures, 'darknet-cfg');
const xnorCfg = path.join(cfgDir, 'yolov3-tiny_xnor.cfg');
const xnorText = readFileSync(xnorCfg, 'utf8');
const tmp = mkdtempSync(path.join(tmpdir(), 'xnorcam-cfg-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function findCfgs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? findCfgs(path.join(dir, e.name)) : e.name.endsWith('.cfg') ? [path.join(dir, e.name)] : []));
}

/** The one-line error a cfg text produces (as the CLI would print it); `check` runs on the parsed network. */
function errorOf(text: string, name = 'net.cfg', check: (spec: ReturnType<typeof parseCfg>) => void = () => {}): string {
  try {
    check(parseCfg(text, name));
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected the cfg to be rejected');
}

describe('darknet cfg parser', () => {
  const all = [...findCfgs(cfgDir), path.join(fixtures, 'yolo-fastest', 'yolo-fastest-1.1.cfg'), ...findCfgs(path.join(fixtures, 'real-models'))];

  it.each(all.map((f) => [path.relative(fixtures, f), f]))('parses %s', (_name, file) => {
    const spec = parseCfgFile(file);
    checkDetectorGraph(spec);
    expect(spec.layers.length).toBeGreaterThan(5);
    expect(spec.layers.some((l) => l.type === 'yolo' || l.type === 'region')).toBe(true);
  });

  it('infers yolov3-tiny_xnor shapes and the inference activations (bin_output → linear)', () => {
    const { net, layers } = parseCfgFile(xnorCfg);
    expect(net).toEqual({ width: 416, height: 416, channels: 3, letterbox: false });
    expect(layers).toHaveLength(24);
    const shape = (i: number) => [layers[i].output.c, layers[i].output.h, layers[i].output.w];
    expect(shape(0)).toEqual([16, 416, 416]);
    expect(shape(11)).toEqual([512, 13, 13]); // maxpool size 2 stride 1 keeps the size
    expect(shape(12)).toEqual([1024, 13, 13]);
    expect(shape(15)).toEqual([255, 13, 13]);
    expect(shape(20)).toEqual([384, 26, 26]);
    expect(shape(23)).toEqual([255, 26, 26]);
    const convs = layers.map((l, i) => [i, l] as const).filter((x): x is readonly [number, ConvSpec] => x[1].type === 'convolutional');
    expect(convs.filter(([, l]) => l.xnor).map(([i]) => i)).toEqual([2, 4, 6, 8, 10, 12, 13, 18, 21]);
    expect(convs.filter(([, l]) => l.activation === 'linear').map(([i]) => i)).toEqual([2, 4, 6, 10, 12, 15, 22]);
    expect((layers[13] as ConvSpec).pad).toBe(0); // pad=1 on a 1x1 conv means size/2 = 0
  });

  it('handles route groups/group_id (yolov4-tiny)', () => {
    const { layers } = parseCfgFile(path.join(cfgDir, 'yolov4-tiny.cfg'));
    const r = layers[3] as RouteSpec;
    expect(r.type).toBe('route');
    expect([r.groups, r.groupId, r.layers]).toEqual([2, 1, [2]]);
    expect(r.output).toEqual({ c: layers[2].output.c / 2, h: layers[2].output.h, w: layers[2].output.w });
  });

  it('reads grouped convs, shortcut, dropout, SPP maxpools and multi-layer routes (yolo-fastest)', () => {
    const { layers } = parseCfgFile(path.join(fixtures, 'yolo-fastest', 'yolo-fastest-1.1.cfg'));
    const depthwise = layers.filter((l) => l.type === 'convolutional' && l.groups > 1 && l.groups === l.input.c);
    expect(depthwise.length).toBeGreaterThan(20);
    const spp = layers.filter((l) => l.type === 'maxpool' && l.stride === 1);
    expect(spp.map((l) => l.type === 'maxpool' && l.size)).toEqual([3, 5, 9]);
    for (const l of spp) expect(l.output).toEqual(l.input);
    const route4 = layers.find((l): l is RouteSpec => l.type === 'route' && l.layers.length === 4)!;
    expect(route4.output.c).toBe(4 * layers[route4.layers[0]].output.c);
  });

  it('ignores training-only keys but rejects an unknown key with file:line', () => {
    expect(() => parseCfg(xnorText.replace('[convolutional]\n', '[convolutional]\nlearning_rate=0.5\nstopbackward=1\n'), 'x.cfg')).not.toThrow();
    const text = xnorText.replace('[upsample]\nstride=2', '[upsample]\nstride=2\nfoo=3');
    expect(errorOf(text, 'x.cfg')).toBe("x.cfg:168: unknown key 'foo' in [upsample]");
  });

  it('rejects keys that change what darknet computes: flipped=1, a [region] softmax tree or class map', () => {
    const flipped = (v: string) => xnorText.replace('[convolutional]\nbatch_normalize=1\nfilters=16', `[convolutional]\nflipped=${v}\nbatch_normalize=1\nfilters=16`);
    expect(errorOf(flipped('1'), 'x.cfg')).toBe("x.cfg:26: 'flipped=1' in [convolutional] is not supported (only 0)");
    expect(() => parseCfg(flipped('0'), 'x.cfg')).not.toThrow();
    const region = readFileSync(path.join(cfgDir, 'tiny-yolo_xnor.cfg'), 'utf8');
    expect(errorOf(region.replace('[region]\n', '[region]\ntree=data/9k.tree\n'), 'r.cfg')).toBe("r.cfg:132: 'tree=data/9k.tree' in [region] is not supported (a hierarchical softmax over a class tree)");
    expect(errorOf(region.replace('[region]\n', '[region]\nmap=data/coco9k.map\n'), 'r.cfg')).toBe("r.cfg:132: 'map=data/coco9k.map' in [region] is not supported (a class index map)");
  });

  it('refuses as a detector a network without a head, with heads of different classes, or cut before its last head', () => {
    const check = checkDetectorGraph;
    expect(errorOf(xnorText.slice(0, xnorText.indexOf('[yolo]')), 'h.cfg', check)).toBe('h.cfg: no [yolo] or [region] layer: this network cannot detect');
    const last = (text: string, from: string, to: string) => text.slice(0, text.lastIndexOf(from)) + to + text.slice(text.lastIndexOf(from) + from.length);
    expect(errorOf(last(last(xnorText, 'filters=255', 'filters=18'), 'classes=80', 'classes=1'), 'm.cfg', check)).toBe(
      'm.cfg:189: [yolo] has classes=1 but the [yolo] at line 144 has classes=80: every head must detect the same classes',
    );
    expect(errorOf(xnorText.slice(0, xnorText.lastIndexOf('[yolo]')), 'cut.cfg', check)).toBe(
      'cut.cfg:182: the output of [convolutional] (layer 22) is read by no later layer and it is not a [yolo] or [region] head: is the cfg cut before its last head?',
    );
    expect(() => checkDetectorGraph(parseCfg(xnorText, 'x.cfg'))).not.toThrow();
  });

  it('rejects an unknown or unsupported layer with file:line', () => {
    expect(errorOf(xnorText.replace('[upsample]', '[upsampel]'), 'x.cfg')).toBe('x.cfg:166: unknown layer [upsampel]');
    expect(errorOf(xnorText.replace('[upsample]\nstride=2', '[reorg]'), 'x.cfg')).toBe('x.cfg:166: layer [reorg] is not supported by xnorcam');
  });

  it('refuses an input size past what the engine takes, and reads lines ended by CR alone', () => {
    const huge = xnorText.replace(/^width=\d+/m, 'width=99999999999');
    expect(errorOf(huge)).toMatch(/^net\.cfg:\d+: 'width=99999999999' in \[net\] is not a size from 1 to 8192$/);
    const cr = parseCfg(xnorText.replace(/\r?\n/g, '\r'), 'cr.cfg');
    expect(cr.layers.length).toBe(parseCfg(xnorText, 'lf.cfg').layers.length);
  });

  it('names the cfg line of shape errors', () => {
    expect(errorOf(xnorText.replace('layers = -1, 8', 'layers = -1, 9'), 'x.cfg')).toMatch(/^x\.cfg:170: \[route\] joins layer 19 \(26x26\) and layer 9 \(13x13\)/);
    expect(errorOf(xnorText.replace('layers = -4', 'layers = 40'), 'x.cfg')).toMatch(/^x\.cfg:155: \[route\] layers=40 refers to layer 40, which is not an earlier layer/);
    expect(errorOf(xnorText.replace('classes=80', 'classes=81'), 'x.cfg')).toMatch(/^x\.cfg:144: \[yolo\] with classes=81 and 3 masked anchors needs 258 input channels, but the layer before outputs 255/);
    expect(errorOf(xnorText.replace('activation=leaky', 'activation=gelu'), 'x.cfg')).toMatch(/^x\.cfg:31: activation 'gelu' is not supported/);
    expect(errorOf(xnorText.replace('filters=16', 'filters=sixteen'), 'x.cfg')).toBe("x.cfg:27: 'filters' in [convolutional] must be an integer, got 'sixteen'");
    expect(errorOf('[convolutional]\nfilters=3\n')).toBe('net.cfg:1: the first section must be [net], got [convolutional]');
    expect(errorOf('[net]\nwidth=32\nheight=32\nchannels=3\n[maxpool]\nsize=64\nstride=64\npadding=0\n')).toMatch(/^net\.cfg:5: \[maxpool\] size=64 stride=64 gives an empty output/);
  });

  it('reports a missing cfg file in one line', () => {
    expect(() => parseCfgFile(path.join(tmp, 'nope.cfg'))).toThrow(`${path.join(tmp, 'nope.cfg')}: no such file`);
    writeFileSync(path.join(tmp, 'empty.cfg'), '# nothing\n');
    expect(() => parseCfgFile(path.join(tmp, 'empty.cfg'))).toThrow(/no \[net\] section found/);
  });
});
