import type { Model } from './model.js';

/**
 * The score threshold a model's card recommends (`xnorcam specialise` records the student's operating
 * point, chosen on its training frames), or undefined when the card names none.
 */
export function cardOperatingThreshold(model: Pick<Model, 'card'>): number | undefined {
  const student = (model.card as { student?: { thresh?: unknown } } | undefined)?.student;
  const t = student?.thresh;
  return typeof t === 'number' && t > 0 && t < 1 ? t : undefined;
}
