"""Anchor boxes from the training labels: k-means on (w, h) with 1 - IoU as the distance."""
from __future__ import annotations

import numpy as np


def kmeans_anchors(wh: np.ndarray, k: int, seed: int = 0, iters: int = 100) -> list[tuple[int, int]]:
    """wh: (n, 2) box sizes in network pixels. Returns k anchors sorted by area (darknet's order)."""
    wh = wh[(wh[:, 0] > 0) & (wh[:, 1] > 0)]
    if len(wh) < k:
        raise ValueError(f'need at least {k} boxes to compute anchors, the dataset has {len(wh)}')
    rng = np.random.default_rng(seed)
    centers = wh[rng.choice(len(wh), k, replace=False)].astype(np.float64)
    for _ in range(iters):
        inter = np.minimum(wh[:, None, 0], centers[None, :, 0]) * np.minimum(wh[:, None, 1], centers[None, :, 1])
        iou = inter / (wh[:, None].prod(-1) + centers[None].prod(-1) - inter)
        assign = iou.argmax(1)
        new = np.array([np.median(wh[assign == j], 0) if (assign == j).any() else centers[j] for j in range(k)])
        if np.allclose(new, centers):
            break
        centers = new
    centers = centers[np.argsort(centers.prod(1))]
    return [(max(1, int(round(w))), max(1, int(round(h)))) for w, h in centers]
