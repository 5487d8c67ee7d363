"""YOLOv3 loss, darknet-style decoding and NMS, and a small mAP for validation during training."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def _wh_iou(wh1: torch.Tensor, wh2: torch.Tensor) -> torch.Tensor:
    inter = torch.min(wh1[:, None, 0], wh2[None, :, 0]) * torch.min(wh1[:, None, 1], wh2[None, :, 1])
    return inter / (wh1[:, None, 0] * wh1[:, None, 1] + wh2[None, :, 0] * wh2[None, :, 1] - inter)


def box_iou_cxcywh(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a (..., N, 4), b (..., M, 4) → (..., N, M)."""
    a1, a2 = a[..., :2] - a[..., 2:] / 2, a[..., :2] + a[..., 2:] / 2
    b1, b2 = b[..., :2] - b[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2
    lt = torch.max(a1[..., :, None, :], b1[..., None, :, :])
    rb = torch.min(a2[..., :, None, :], b2[..., None, :, :])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = a[..., 2:].prod(-1)[..., :, None]
    area_b = b[..., 2:].prod(-1)[..., None, :]
    return inter / (area_a + area_b - inter + 1e-9)


def ciou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Complete IoU (Zheng et al. 2020) of matching rows of two (n, 4) cx, cy, w, h tensors in units
    equal on both axes: IoU, less the squared centre distance over the enclosing box's squared
    diagonal, less alpha * v for the difference in aspect ratio. 1 for identical boxes."""
    eps = 1e-9
    a1, a2 = a[:, :2] - a[:, 2:] / 2, a[:, :2] + a[:, 2:] / 2
    b1, b2 = b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2
    inter = (torch.min(a2, b2) - torch.max(a1, b1)).clamp(min=0).prod(-1)
    union = a[:, 2:].prod(-1) + b[:, 2:].prod(-1) - inter + eps
    iou = inter / union
    diag2 = ((torch.max(a2, b2) - torch.min(a1, b1)) ** 2).sum(-1) + eps
    dist2 = ((a[:, :2] - b[:, :2]) ** 2).sum(-1)
    v = (4 / math.pi ** 2) * (torch.atan(b[:, 2] / (b[:, 3] + eps)) - torch.atan(a[:, 2] / (a[:, 3] + eps))) ** 2
    with torch.no_grad():
        alpha = v / (1 - iou + v + eps)
    return iou - dist2 / diag2 - alpha * v


BOX_LOSSES = ('yolov3', 'ciou')

# The CIoU term's weight against the per-cell objectness sums: YOLOv5's balance (box gain 0.05 on a mean
# over positives against objectness means over every cell) restated for this loss's sums, roughly.
CIOU_GAIN = 5.0


class YoloLoss:
    def __init__(self, heads: list[dict], all_anchors: list[tuple[int, int]], net_w: int, net_h: int,
                 num_classes: int, ignore_thresh: float = 0.7, iou_thresh: float = 0.4, uncertain_thresh: float = 0.3,
                 box_loss: str = 'yolov3'):
        """box_loss: 'yolov3' (darknet's: BCE on the cell offsets, squared error on log size) or 'ciou'
        (1 - CIoU of the decoded box, in grid cells, which rewards overlap directly)."""
        if box_loss not in BOX_LOSSES:
            raise ValueError(f'box loss {box_loss!r}: expected {" or ".join(BOX_LOSSES)}')
        self.box_loss = box_loss
        self.heads = heads
        self.anchors = torch.tensor(all_anchors, dtype=torch.float32) / torch.tensor([net_w, net_h])
        self.C = num_classes
        self.ignore_thresh, self.iou_thresh, self.uncertain_thresh = ignore_thresh, iou_thresh, uncertain_thresh

    @staticmethod
    def _pad_per_image(targets: torch.Tensor, B: int, device) -> tuple[torch.Tensor, int]:
        """Boxes padded per image, (B, m, 4), built without a Python loop over the batch."""
        bidx = targets[:, 0].long()
        counts = torch.bincount(bidx, minlength=B) if len(targets) else torch.zeros(B, dtype=torch.long, device=device)
        m = int(counts.max()) if len(targets) else 0
        pad = torch.zeros(B, max(m, 1), 4, device=device)
        if m:
            order = torch.argsort(bidx, stable=True)
            starts = torch.cumsum(counts, 0) - counts
            rank = torch.arange(len(order), device=device) - starts[bidx[order]]
            pad[bidx[order], rank] = targets[order, 2:6]
        return pad, m

    def __call__(self, outputs: list[torch.Tensor], targets: torch.Tensor):
        B = outputs[0].shape[0]
        device = outputs[0].device
        total = {'box': 0.0, 'obj': 0.0, 'cls': 0.0}
        # Class -1 rows are ignore regions (objects the labeller was unsure of): never positives,
        # and predictions overlapping them are not pushed towards background.
        uncertain = targets[targets[:, 1] < 0]
        targets = targets[targets[:, 1] >= 0]
        gt_pad, m = self._pad_per_image(targets, B, device)
        ign_pad, m_ign = self._pad_per_image(uncertain, B, device)
        anchors = self.anchors.to(device)
        if len(targets):
            ious = _wh_iou(targets[:, 4:6], anchors)
            best = ious.argmax(1)
        for head, out in zip(self.heads, outputs):
            mask = head['mask']
            A, H, W = len(mask), out.shape[2], out.shape[3]
            p = out.float().view(B, A, 5 + self.C, H, W).permute(0, 1, 3, 4, 2)
            anc = anchors[mask]
            obj_t = torch.zeros(B, A, H, W, device=device)
            pos_list = []
            if len(targets):
                for k, a in enumerate(mask):
                    sel = (best == a) | (ious[:, a] > self.iou_thresh)
                    if sel.any():
                        t = targets[sel]
                        gi = (t[:, 2] * W).long().clamp(0, W - 1)
                        gj = (t[:, 3] * H).long().clamp(0, H - 1)
                        pos_list.append((t, torch.full_like(gi, k), gi, gj))
            # objectness: positives 1, negatives 0 unless the prediction already overlaps a truth well
            with torch.no_grad():
                gy, gx = torch.meshgrid(torch.arange(H, device=device), torch.arange(W, device=device), indexing='ij')
                px = (gx + torch.sigmoid(p[..., 0])) / W
                py = (gy + torch.sigmoid(p[..., 1])) / H
                pw = torch.exp(p[..., 2].clamp(max=8)) * anc[:, 0].view(1, A, 1, 1)
                ph = torch.exp(p[..., 3].clamp(max=8)) * anc[:, 1].view(1, A, 1, 1)
                pb = torch.stack([px, py, pw, ph], -1).view(B, -1, 4)
                if m:
                    best_iou = box_iou_cxcywh(pb, gt_pad).max(-1).values.view(B, A, H, W)
                    noobj = best_iou <= self.ignore_thresh
                else:
                    noobj = torch.ones(B, A, H, W, dtype=torch.bool, device=device)
                if m_ign:
                    noobj &= box_iou_cxcywh(pb, ign_pad).max(-1).values.view(B, A, H, W) <= self.uncertain_thresh
            obj_w = noobj.float()
            box_l = torch.zeros((), device=device)
            cls_l = torch.zeros((), device=device)
            for t, k, gi, gj in pos_list:
                b = t[:, 0].long()
                # a soft label (7th column, a teacher's score) is the objectness taught; else 1
                obj_t[b, k, gj, gi] = t[:, 6] if t.shape[1] > 6 else 1.0
                obj_w[b, k, gj, gi] = 1.0
                pp = p[b, k, gj, gi]
                scale = 2.0 - t[:, 4] * t[:, 5]
                if self.box_loss == 'ciou':
                    # grid cells are square in input pixels (one stride on both axes), so CIoU's
                    # aspect and distance terms mean the same as in pixels
                    pred = torch.stack([gi + torch.sigmoid(pp[:, 0]), gj + torch.sigmoid(pp[:, 1]),
                                        torch.exp(pp[:, 2].clamp(max=8)) * anc[k, 0] * W,
                                        torch.exp(pp[:, 3].clamp(max=8)) * anc[k, 1] * H], -1)
                    truth = torch.stack([t[:, 2] * W, t[:, 3] * H, t[:, 4] * W, t[:, 5] * H], -1)
                    box_l = box_l + CIOU_GAIN * (scale * (1.0 - ciou(pred, truth))).sum()
                else:
                    tx, ty = t[:, 2] * W - gi, t[:, 3] * H - gj
                    tw = torch.log(t[:, 4] / anc[k, 0])
                    th = torch.log(t[:, 5] / anc[k, 1])
                    box_l = box_l + (scale * (F.binary_cross_entropy_with_logits(pp[:, 0], tx, reduction='none')
                                              + F.binary_cross_entropy_with_logits(pp[:, 1], ty, reduction='none')
                                              + 0.5 * (pp[:, 2] - tw) ** 2 + 0.5 * (pp[:, 3] - th) ** 2)).sum()
                cls_t = F.one_hot(t[:, 1].long(), self.C).float()
                cls_l = cls_l + F.binary_cross_entropy_with_logits(pp[:, 5:], cls_t, reduction='sum')
            obj_l = (F.binary_cross_entropy_with_logits(p[..., 4], obj_t, reduction='none') * obj_w).sum()
            total['box'] = total['box'] + box_l / B
            total['obj'] = total['obj'] + obj_l / B
            total['cls'] = total['cls'] + cls_l / B
        loss = total['box'] + total['obj'] + total['cls']
        return loss, {k: float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in total.items()}


def decode(outputs: list[torch.Tensor], heads: list[dict], net_w: int, net_h: int, thresh: float, nms: float = 0.45,
           max_candidates: int = 0):
    """darknet `detector test` post-processing for a batch: returns per image a list of
    (class, score, cx, cy, w, h) in relative coordinates; score = objectness × class probability,
    kept when objectness > thresh and score > thresh, then per-class NMS (IoU > nms suppressed).
    max_candidates > 0 keeps only that many top-scoring candidates per image before NMS (validation)."""
    B = outputs[0].shape[0]
    per_image = [[] for _ in range(B)]
    for head, out in zip(heads, outputs):
        A, H, W = len(head['mask']), out.shape[2], out.shape[3]
        C = head['classes']
        p = out.float().view(B, A, 5 + C, H, W).permute(0, 1, 3, 4, 2)
        anc = torch.tensor(head['anchors'], dtype=torch.float32)
        gy, gx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing='ij')
        x = (gx + torch.sigmoid(p[..., 0])) / W
        y = (gy + torch.sigmoid(p[..., 1])) / H
        w = torch.exp(p[..., 2]) * anc[:, 0].view(1, A, 1, 1) / net_w
        h = torch.exp(p[..., 3]) * anc[:, 1].view(1, A, 1, 1) / net_h
        obj = torch.sigmoid(p[..., 4])
        prob = obj[..., None] * torch.sigmoid(p[..., 5:])
        for b in range(B):
            keep = obj[b] > thresh
            if not keep.any():
                continue
            boxes = torch.stack([x[b][keep], y[b][keep], w[b][keep], h[b][keep]], -1)
            pr = prob[b][keep]
            idx, cls = torch.nonzero(pr > thresh, as_tuple=True)
            per_image[b].append((cls, pr[idx, cls], boxes[idx]))
    out = []
    for parts in per_image:
        if not parts:
            out.append([])
            continue
        cls = torch.cat([p[0] for p in parts])
        score = torch.cat([p[1] for p in parts])
        boxes = torch.cat([p[2] for p in parts])
        if max_candidates and len(score) > max_candidates:
            top = torch.topk(score, max_candidates).indices
            cls, score, boxes = cls[top], score[top], boxes[top]
        out.append(nms_tensors(cls, score, boxes, nms))
    return out


def nms_tensors(cls: torch.Tensor, score: torch.Tensor, boxes: torch.Tensor, thresh: float) -> list:
    """Per-class NMS in score order (ties keep their order, as a stable sort does)."""
    result = []
    for c in torch.unique(cls).tolist():
        sel = (cls == c).nonzero(as_tuple=True)[0]
        order = sel[torch.sort(score[sel], descending=True, stable=True).indices]
        b = boxes[order]
        iou = box_iou_cxcywh(b, b)
        alive = torch.ones(len(order), dtype=torch.bool)
        for i in range(len(order)):
            if not alive[i]:
                continue
            result.append((c, float(score[order[i]]), *b[i].tolist()))
            alive[i + 1:] &= ~(iou[i, i + 1:] > thresh)
    return result


def average_precision(dets_per_image, gts_per_image, num_classes: int, iou_thr: float = 0.5):
    """COCO-style (101-point interpolated) AP per class at one IoU threshold. dets: (c, s, cx, cy, w, h)
    per image, gts: (n, 5) arrays (c, cx, cy, w, h). Returns {class: AP} for classes with ground truth."""
    aps = {}
    for c in range(num_classes):
        scored = []
        npos = 0
        for img, (dets, gts) in enumerate(zip(dets_per_image, gts_per_image)):
            g = gts[gts[:, 0] == c][:, 1:5] if len(gts) else np.zeros((0, 4))
            npos += len(g)
            for d in dets:
                if d[0] == c:
                    scored.append((d[1], img, d[2:]))
        if npos == 0:
            continue
        scored.sort(key=lambda t: -t[0])
        used = {}
        tp = np.zeros(len(scored))
        for k, (_, img, box) in enumerate(scored):
            gts = gts_per_image[img]
            g = gts[gts[:, 0] == c][:, 1:5] if len(gts) else np.zeros((0, 4))
            if not len(g):
                continue
            iou = box_iou_cxcywh(torch.tensor([box]), torch.tensor(g))[0].numpy()
            taken = used.setdefault(img, np.zeros(len(g), bool))
            iou[taken] = -1
            j = int(iou.argmax())
            if iou[j] >= iou_thr:
                tp[k] = 1
                taken[j] = True
        ctp = np.cumsum(tp)
        rec = ctp / npos
        prec = ctp / np.arange(1, len(scored) + 1)
        for i in range(len(prec) - 2, -1, -1):
            prec[i] = max(prec[i], prec[i + 1])
        ap = 0.0
        for r in np.linspace(0, 1, 101):
            i = np.searchsorted(rec, r, side='left')
            ap += prec[i] if i < len(prec) else 0.0
        aps[c] = ap / 101
    return aps


def class_agnostic_ap(dets_per_image, gts_per_image, iou_thr: float = 0.5) -> float:
    """AP with every class as one (is each object found and boxed, whatever its class), as `xnorcam eval`'s
    classAgnostic: detections keep their per-class NMS, so two classes' boxes on one object are one hit and one
    false positive. 0 when there is no ground truth."""
    dets = [[(0, *d[1:]) for d in image] for image in dets_per_image]
    gts = [np.concatenate([np.zeros((len(g), 1), np.float32), np.asarray(g, np.float32)[:, 1:5]], 1)
           for g in gts_per_image]
    return float(average_precision(dets, gts, 1, iou_thr).get(0, 0.0))
