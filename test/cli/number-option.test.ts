import { describe, expect, it } from 'vitest';
import { describeRange, numberOption } from '../../src/cli/command.js';

describe('numeric options say what they take', () => {
  it('words each kind of range', () => {
    expect(describeRange({ min: 0, max: 1 })).toBe('a number from 0 to 1');
    expect(describeRange({ min: 0, max: 1, below: true })).toBe('a number from 0 to below 1');
    expect(describeRange({ min: 0, above: true })).toBe('a number above 0');
    expect(describeRange({ min: 0, above: true, max: 1 })).toBe('a number above 0 and up to 1');
    expect(describeRange({ integer: true, min: 1 })).toBe('an integer of 1 or more');
    expect(describeRange({ integer: true, min: 1, max: 256 })).toBe('an integer from 1 to 256');
    expect(describeRange({ integer: true, min: 0, max: Number.MAX_SAFE_INTEGER })).toBe('an integer of 0 or more');
  });

  it('refuses what is outside, not a number, fractional for an integer, or empty; keeps the default when not given', () => {
    const refused = (raw: string, range: Parameters<typeof numberOption>[3]) => {
      try {
        numberOption('x', raw, 0, range);
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(refused('2', { min: 0, max: 1 })).toBe("--x: '2' is not a number from 0 to 1");
    expect(refused('abc', { min: 0, above: true })).toBe("--x: 'abc' is not a number above 0");
    expect(refused('2.5', { integer: true, min: 1 })).toBe("--x: '2.5' is not an integer of 1 or more");
    expect(refused('', {})).toBe("--x: '' is not a number");
    // beyond the integers a double holds exactly (synth --start 1e21 named its image 1e+21.jpg)
    expect(refused('1e21', { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER })).toBe("--x: '1e21' is not an integer of 0 or more");
    expect(refused('1', { min: 0, max: 1 })).toBe('accepted');
    expect(numberOption('x', undefined, 7, { min: 0, max: 1 })).toBe(7);
  });
});
