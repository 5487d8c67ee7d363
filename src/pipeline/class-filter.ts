import { UserError } from '../core/errors.js';
import { trafficClassOf } from '../core/traffic-classes.js';
import { listNames } from '../core/list-names.js';

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
  const keep = new Set<number>();
  if (choice === 'traffic') {
    // By meaning: COCO's "motorbike" is a motorcycle.
    classNames.forEach((name, id) => trafficClassOf(name) !== undefined && keep.add(id));
    // A model with none of the traffic classes (a custom one) keeps its own.
    if (keep.size === 0) return undefined;
  } else {
    for (const wanted of choice) {
      const ids = classNames.flatMap((name, id) => (sameClass(name, wanted) ? [id] : []));
      if (!ids.length) {
        throw new UserError(`${label}: '${wanted}' is not a class of the model (its classes: ${listNames(classNames, 12)})`, 2);
      }
      for (const id of ids) keep.add(id);
    }
  }
  return keep.size === classNames.length ? undefined : keep;
}

/** A model's label and a name asked for are the same class: as written whatever the case, or by traffic meaning (motorbike, motorcycle). */
function sameClass(label: string, wanted: string): boolean {
  if (label.trim().toLowerCase() === wanted.trim().toLowerCase()) return true;
  const t = trafficClassOf(label);
  return t !== undefined && t === trafficClassOf(wanted);
}

/**
 * The names the pipeline reports a model's classes by: a traffic class under its own name (COCO's
 * "motorbike" as motorcycle, so counts, events and the dashboard's colours agree across models), others
 * as the model has them; undefined when that changes nothing.
 */
export function reportedLabels(classNames: readonly string[]): string[] | undefined {
  const labels = classNames.map((name) => trafficClassOf(name) ?? name);
  return labels.some((l, i) => l !== classNames[i]) ? labels : undefined;
}

/**
 * The classes a source counts, by the names it reports them by (`keep` and `labels` as classFilter and
 * reportedLabels give them), in alphabetical order: a counts CSV's zero rows are of these.
 */
export function countedClasses(classNames: readonly string[], keep: ReadonlySet<number> | undefined, labels: readonly string[] | undefined): string[] {
  const names = classNames.flatMap((name, id) => (!keep || keep.has(id) ? [labels?.[id] ?? name] : []));
  return [...new Set(names)].sort();
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
