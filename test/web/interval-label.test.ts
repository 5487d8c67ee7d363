import { describe, expect, it } from 'vitest';
import { intervalLabel } from '../../web/src/interval-label.js';

describe('the chart title names the count interval', () => {
  it('in whole minutes only when it is whole minutes (30 s read "1 min", 90 s "2 min")', () => {
    expect(intervalLabel(60_000)).toBe('1 min');
    expect(intervalLabel(900_000)).toBe('15 min');
    expect(intervalLabel(30_000)).toBe('30 s');
    expect(intervalLabel(90_000)).toBe('90 s');
    expect(intervalLabel(2_500)).toBe('2.5 s');
  });
});
