/**
 * Saturated class colours, chosen to stand out on grey road scenes and to stay apart from each
 * other for the common kinds of colour blindness as far as six colours allow. Index = the class's
 * place in CLASS_NAMES (car, truck, bus, motorcycle, bicycle, person).
 */
export const CLASS_COLORS = ['#00e5ff', '#ffb000', '#ff4dff', '#7cff00', '#ffee00', '#ff3b3b'];
export const CLASS_NAMES = ['car', 'truck', 'bus', 'motorcycle', 'bicycle', 'person'];
export const LINE_COLOR = '#4d7cff';
export const ZONE_COLOR = '#b388ff';

/** Other classes (a COCO model run with every class, a custom model): a colour picked by the name. */
export const OTHER_CLASS_COLORS = ['#ff6a00', '#00ff95', '#c800ff', '#00a2ff', '#ff0080', '#b4ff00'];

/**
 * By name, not by the model's class number: a COCO model numbers person 0, car 2, bus 5, and the
 * server reports its labels under the traffic names, so boxes, trails, tables and chart agree.
 */
export function classColor(className: string): string {
  return CLASS_COLORS[CLASS_NAMES.indexOf(className)] ?? OTHER_CLASS_COLORS[nameHash(className) % OTHER_CLASS_COLORS.length];
}

/** FNV-1a of the name's UTF-16 units: the same name gets the same colour on every page and in the video. */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
