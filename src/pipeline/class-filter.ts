import { UserError } from '../core/errors.js';
import { trafficClassOf } from '../core/traffic-classes.js';

/**
 * Which of a model's classes the pipeline works with: 'traffic' (the default: vehicles and people, when
 * the model knows any; a COCO model's cups and cell phones otherwise become tracks), 'all', or names.
 */
export type ClassChoice = 'traffic' | 'all' | readonly string[];

/**
 * The class ids to keep of a model with these class names, or undefined when that is all of them
 * (nothing to filter). A name the model does not have is refused in one line naming `label`.
 */
export function classFilter(choice: ClassChoice | undefined, classNames: readonly string[], label: string): Set<number> | undefined {
  if (choice === undefined || choice === 'all') return undefined;
  if (choice !== 'traffic') {
    for (const name of choice) {
      if (classNames.includes(name)) continue;
      const listed = classNames.length > 12 ? `${classNames.slice(0, 12).join(', ')} … (${classNames.length})` : classNames.join(', ');
      throw new UserError(`${label}: '${name}' is not a class of the model (its classes: ${listed})`, 2);
    }
  }
  const keep = new Set<number>();
  // 'traffic' by meaning (COCO's "motorbike" is a motorcycle), names as written.
  classNames.forEach((name, id) => (choice === 'traffic' ? trafficClassOf(name) !== undefined : choice.includes(name)) && keep.add(id));
  // A model with none of the traffic classes (a custom one) keeps its own.
  if (choice === 'traffic' && keep.size === 0) return undefined;
  return keep.size === classNames.length ? undefined : keep;
}

/** `--classes traffic|all|car,bus,…` */
export function parseClassesOption(value: string | undefined): ClassChoice | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === 'traffic' || v === 'all') return v;
  const names = v.split(',').map((s) => s.trim());
  if (!v || names.some((n) => !n)) throw new UserError(`--classes: '${value}' is not traffic, all, or a comma-separated list of class names`, 2);
  return names;
}
