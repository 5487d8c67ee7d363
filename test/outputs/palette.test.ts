import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ANNOTATE_CLASS_COLORS, ANNOTATE_OTHER_COLORS, annotateColor } from '../../src/outputs/annotate-video.js';
import { CLASS_COLORS, CLASS_NAMES, classColor, OTHER_CLASS_COLORS } from '../../web/src/colors.js';
import { repoRoot } from '../helpers/model.js';
import { TRAFFIC_CLASSES } from '../../src/core/traffic-classes.js';

describe('class colours', () => {
  it('the annotated video uses the dashboard palette, class for class', () => {
    expect(ANNOTATE_CLASS_COLORS).toEqual(CLASS_COLORS);
    expect(CLASS_NAMES).toEqual([...TRAFFIC_CLASSES]);
    expect(ANNOTATE_OTHER_COLORS).toEqual(OTHER_CLASS_COLORS);
    // Another class gets the same colour, picked by its name, in both.
    for (const name of ['traffic light', 'class0', 'class1', 'dog', 'ambulance']) expect(`#${annotateColor(name).map((v) => v.toString(16).padStart(2, '0')).join('')}`).toBe(classColor(name));
    expect(new Set(['class0', 'class1', 'class2'].map(classColor)).size).toBeGreaterThan(1);
  });

  it('colours by class name, not by the model\'s class number (a COCO model numbers car 2, bus 5)', () => {
    expect(classColor('car')).toBe('#00e5ff');
    expect(classColor('bus')).toBe('#ff4dff');
    expect(classColor('person')).toBe('#ff3b3b');
  });

  it('docs/dashboard.md names the same colours in the same class order', () => {
    const line = readFileSync(resolve(repoRoot, 'docs/dashboard.md'), 'utf8')
      .split('\n')
      .find((l) => l.includes('Class colours:'))!;
    const named = [...line.matchAll(/(\w+) (cyan|amber|magenta|lime|yellow|red)\b/g)].map((m) => [m[1], m[2]]);
    expect(named.map((n) => n[0])).toEqual(CLASS_NAMES);
    // Hue of each hex colour, against the name the docs give it.
    const hues: Record<string, [number, number]> = { red: [350, 10], amber: [35, 50], yellow: [50, 65], lime: [80, 110], cyan: [180, 200], magenta: [290, 310] };
    ANNOTATE_CLASS_COLORS.forEach((hex, i) => {
      const h = hue(hex);
      const [lo, hi] = hues[named[i][1]];
      expect(lo < hi ? h >= lo && h <= hi : h >= lo || h <= hi, `${CLASS_NAMES[i]} ${hex} (hue ${h}) is not ${named[i][1]}`).toBe(true);
    });
  });
});

function hue(hex: string): number {
  const n = parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => v / 255);
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  if (d === 0) return 0;
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return Math.round((h * 60 + 360) % 360);
}

describe('label font', () => {
  it('has a glyph for every letter of the traffic classes and of a COCO model\'s class names', async () => {
    const { GLYPHS } = await import('../../src/core/font5x7.js');
    const { TRAFFIC_CLASSES } = await import('../../src/core/traffic-classes.js');
    const coco = ['traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'dog', 'horse', 'train', 'boat', 'zebra', 'jeep', 'van', 'quad'];
    for (const name of [...TRAFFIC_CLASSES, ...coco]) for (const ch of name.toUpperCase()) expect(GLYPHS[ch], `${name}: '${ch}'`).toBeDefined();
    for (const ch of '0123456789#') expect(GLYPHS[ch]).toBeDefined();
  });
});
