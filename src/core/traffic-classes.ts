/** The traffic classes of xnorcam's models, in id order: what its analytics are about. */
export const TRAFFIC_CLASSES = ['car', 'truck', 'bus', 'motorcycle', 'bicycle', 'person'] as const;
export type TrafficClass = (typeof TRAFFIC_CLASSES)[number];

/** Model label names that mean a traffic class (COCO says "motorbike" in darknet's coco.names). */
const synonyms: Record<string, TrafficClass> = {
  car: 'car',
  truck: 'truck',
  bus: 'bus',
  motorbike: 'motorcycle',
  motorcycle: 'motorcycle',
  bicycle: 'bicycle',
  person: 'person',
  pedestrian: 'person',
};

/** The traffic class a model's label means, if any. */
export function trafficClassOf(label: string): TrafficClass | undefined {
  return synonyms[label.trim().toLowerCase()];
}
