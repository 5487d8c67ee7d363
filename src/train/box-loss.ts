/**
 * The trainer's box regression term (training/yolo.py): darknet YOLOv3's (cross-entropy on the cell
 * offsets, squared error on log sizes) or 1 - CIoU of the decoded box, which scores overlap directly.
 */
export const BOX_LOSSES = ['yolov3', 'ciou'] as const;
export type BoxLoss = (typeof BOX_LOSSES)[number];
