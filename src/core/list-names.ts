/** Up to `max` names, then how many more: one line stays readable for a batch of hundreds or a COCO model's 80 classes. */
export function listNames(names: readonly string[], max: number): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}
