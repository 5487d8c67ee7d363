"""YOLO-format datasets: DIR/images/<name>.(png|jpg|jpeg|bmp|webp), DIR/labels/<name>.txt with lines
`class cx cy w h [score]` (relative to the image), DIR/classes.txt with one class name per line.
Class -1 marks an ignore region: an object the labeller was unsure of (e.g. a teacher model's
low-score box). It is neither a positive nor a negative: predictions overlapping it are not pushed
towards background, and it never counts as a missed object.
The optional score (0 < score <= 1, default 1) is a soft label: the objectness the network is taught
for that box (e.g. a teacher model's own score, for distillation); evaluation counts every labelled
box as an object.

Images are decoded once (on up to 16 threads), resized to the network size as darknet's `detector test` does (plain
two-pass bilinear, no letterbox) and kept in memory as uint8."""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

IMAGE_EXT = ('.png', '.jpg', '.jpeg', '.bmp', '.webp')


class DataError(ValueError):
    pass


def read_classes(root: str) -> list[str]:
    path = os.path.join(root, 'classes.txt')
    if not os.path.isfile(path):
        raise DataError(f'{path}: missing (a YOLO dataset needs classes.txt)')
    names = [l.strip() for l in open(path, encoding='utf8') if l.strip()]
    if not names:
        raise DataError(f'{path}: no class names')
    return names


def list_images(root: str) -> list[str]:
    img_dir = os.path.join(root, 'images')
    if not os.path.isdir(img_dir):
        raise DataError(f'{img_dir}: missing (a YOLO dataset needs images/ and labels/)')
    files = sorted(f for f in os.listdir(img_dir) if f.lower().endswith(IMAGE_EXT))
    if not files:
        raise DataError(f'{img_dir}: no images')
    return [os.path.join(img_dir, f) for f in files]


def read_labels(root: str, image_path: str, num_classes: int) -> np.ndarray:
    stem = os.path.splitext(os.path.basename(image_path))[0]
    path = os.path.join(root, 'labels', stem + '.txt')
    rows = []
    if os.path.isfile(path):
        for n, line in enumerate(open(path, encoding='utf8'), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) not in (5, 6):
                raise DataError(f'{path}:{n}: expected "class cx cy w h" or "class cx cy w h score"')
            try:
                c, cx, cy, w, h = int(parts[0]), *map(float, parts[1:5])
                score = float(parts[5]) if len(parts) == 6 else 1.0
            except ValueError:
                raise DataError(f'{path}:{n}: expected "class cx cy w h" or "class cx cy w h score" (numbers; class an integer)') from None
            for name, value in (('cx', cx), ('cy', cy), ('w', w), ('h', h)):
                if not 0 <= value <= 1:
                    raise DataError(f'{path}:{n}: {name} {parts[1 + "cx cy w h".split().index(name)]} is not in [0, 1] (YOLO labels are relative to the image)')
            if not (0 <= c < num_classes or c == -1):
                raise DataError(f'{path}:{n}: class {c} is not in classes.txt (or -1, an ignore region)')
            if not 0 < score <= 1:
                raise DataError(f'{path}:{n}: score {parts[5]} is not in (0, 1]')
            if w > 0 and h > 0:
                rows.append((c, cx, cy, w, h, score))
    return np.array(rows, dtype=np.float32).reshape(-1, 6)


def objects(labels: np.ndarray) -> np.ndarray:
    """The labelled objects of one image, without its ignore regions (class -1)."""
    return labels[labels[:, 0] >= 0]


def scored_objects(labels: np.ndarray) -> np.ndarray:
    """The objects validation scores against: soft labels below even odds (a teacher's unsure boxes, taught at
    their low score) are not objects a detector must find, and a detection on one is a false positive."""
    found = objects(labels)
    return found[found[:, 5] >= 0.5]


def darknet_resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """darknet's resize_image (two-pass bilinear, no antialiasing) on an (h, w, 3) float array, so
    training sees what `xnorcam detect`/`eval` (darknet's `detector test` preprocessing) feed the net."""
    ih, iw = img.shape[:2]
    if (iw, ih) == (width, height):
        return img
    x = np.arange(width, dtype=np.float32) * np.float32((iw - 1) / (width - 1) if width > 1 else 0)
    ix = np.minimum(x.astype(np.int64), iw - 1)
    dx = (x - ix)[None, :, None]
    nx = np.minimum(ix + 1, iw - 1)
    part = (1 - dx) * img[:, ix] + dx * img[:, nx]
    part[:, width - 1] = img[:, iw - 1]
    y = np.arange(height, dtype=np.float32) * np.float32((ih - 1) / (height - 1) if height > 1 else 0)
    iy = np.minimum(y.astype(np.int64), ih - 1)
    dy = (y - iy)[:, None, None]
    ny = np.minimum(iy + 1, ih - 1)
    out = (1 - dy) * part[iy] + dy * part[ny]
    out[height - 1] = part[iy[height - 1]]
    return out


def load_image(path: str, width: int, height: int) -> np.ndarray:
    from PIL import Image  # python3-pil; imported here so the rest works without it

    with Image.open(path) as im:
        rgb = np.asarray(im.convert('RGB'))
    if rgb.shape[:2] == (height, width):
        return rgb
    return np.clip(np.rint(darknet_resize(rgb.astype(np.float32), width, height)), 0, 255).astype(np.uint8)


def decode_workers() -> int:
    """Threads that decode a dataset: PIL and numpy release the GIL while decoding and resizing, so a
    GPU machine's many cores load tens of thousands of images in seconds instead of minutes."""
    return max(1, min(16, len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1))


class Dataset:
    """All images (N, H, W, 3 uint8) and labels (list of (n, 6) arrays: class, cx, cy, w, h, score)."""

    def __init__(self, root: str, width: int, height: int, cache_dir: str | None = None, log=print, limit: int = 0):
        self.root = root
        self.classes = read_classes(root)
        paths = list_images(root)
        if limit:
            paths = paths[:limit]
        self.paths = paths
        self.labels = [read_labels(root, p, len(self.classes)) for p in paths]
        key = hashlib.sha1(('\n'.join(paths) + f'{width}x{height}').encode()).hexdigest()[:12]
        cache = os.path.join(cache_dir, f'images-{key}.npy') if cache_dir else None
        if cache and os.path.isfile(cache):
            self.images = np.load(cache, mmap_mode=None)
        else:
            self.images = np.empty((len(paths), height, width, 3), dtype=np.uint8)

            def decode(i: int) -> None:
                self.images[i] = load_image(paths[i], width, height)

            with ThreadPoolExecutor(decode_workers()) as pool:
                for done, _ in enumerate(pool.map(decode, range(len(paths))), 1):
                    if done % 500 == 0:
                        log(f'decoded {done}/{len(paths)} images of {root}')
            if cache:
                os.makedirs(cache_dir, exist_ok=True)
                np.save(cache + '.tmp.npy', self.images)
                os.replace(cache + '.tmp.npy', cache)

    def __len__(self):
        return len(self.paths)

    def batch(self, idx, augment: bool, rng: np.random.Generator, flip: bool = True, zoom: float = 1.35):
        """Returns (images float (B,3,H,W) in [0,1], targets (n,7): batch index, class, cx, cy, w, h, score).
        flip: mirror half of the augmented images left-right; zoom: the largest random zoom-in (1: none)."""
        imgs = torch.from_numpy(self.images[idx]).permute(0, 3, 1, 2).float().div_(255.0)
        targets = []
        for b, i in enumerate(idx):
            lab = self.labels[i].copy()
            if augment:
                imgs[b], lab = augment_one(imgs[b], lab, rng, flip, zoom)
            if len(lab):
                targets.append(np.concatenate([np.full((len(lab), 1), b, np.float32), lab], 1))
        t = torch.from_numpy(np.concatenate(targets, 0)) if targets else torch.zeros((0, 7))
        return imgs, t


def augment_one(img: torch.Tensor, lab: np.ndarray, rng: np.random.Generator, flip: bool = True, zoom: float = 1.35):
    _, h, w = img.shape
    # Zoom in on a random window (scale 1..zoom): objects get larger and move; boxes are clipped.
    s = rng.uniform(1.0, zoom)
    if s > 1.02:
        cw, ch = w / s, h / s
        x0, y0 = rng.uniform(0, w - cw), rng.uniform(0, h - ch)
        crop = img[:, int(y0):int(y0 + ch), int(x0):int(x0 + cw)]
        img = torch.nn.functional.interpolate(crop[None], size=(h, w), mode='bilinear', align_corners=False)[0]
        fx0, fy0 = int(x0) / w, int(y0) / h
        fw, fh = crop.shape[2] / w, crop.shape[1] / h
        if len(lab):
            x1 = (lab[:, 1] - lab[:, 3] / 2 - fx0) / fw
            x2 = (lab[:, 1] + lab[:, 3] / 2 - fx0) / fw
            y1 = (lab[:, 2] - lab[:, 4] / 2 - fy0) / fh
            y2 = (lab[:, 2] + lab[:, 4] / 2 - fy0) / fh
            area = (x2 - x1) * (y2 - y1)
            x1, x2, y1, y2 = x1.clip(0, 1), x2.clip(0, 1), y1.clip(0, 1), y2.clip(0, 1)
            keep = ((x2 - x1) * (y2 - y1) > 0.4 * area) & (x2 - x1 > 1.5 / w) & (y2 - y1 > 1.5 / h)
            lab = np.stack([lab[:, 0], (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, lab[:, 5]], 1)[keep].astype(np.float32)
    # Drawn either way, so turning mirroring off leaves every other draw of the run as it was.
    if rng.random() < 0.5 and flip:
        img = img.flip(2)
        if len(lab):
            lab[:, 1] = 1 - lab[:, 1]
    # Photometric: brightness, contrast, per-channel gain, saturation.
    gain = torch.tensor(rng.uniform(0.9, 1.1, 3), dtype=img.dtype).view(3, 1, 1)
    img = img * gain * rng.uniform(0.7, 1.3)
    mean = img.mean()
    img = (img - mean) * rng.uniform(0.75, 1.25) + mean
    grey = img.mean(0, keepdim=True)
    img = (img - grey) * rng.uniform(0.6, 1.4) + grey
    return img.clamp_(0, 1), lab


class DeviceBatcher:
    """The whole dataset held on the training device (uint8 images, one label table) with the same
    augmentation as `augment_one` done for a batch at once. On a GPU the per-image Python work of
    `Dataset.batch` would otherwise bound the step rate, not the network."""

    def __init__(self, ds: Dataset, device: torch.device, seed: int = 1):
        self.device = device
        self.images = torch.from_numpy(ds.images).to(device)  # (N, H, W, 3) uint8
        rows = [np.concatenate([np.full((len(l), 1), i, np.float32), l], 1) for i, l in enumerate(ds.labels) if len(l)]
        table = np.concatenate(rows, 0) if rows else np.zeros((0, 7), np.float32)
        self.labels = torch.from_numpy(table).to(device)  # (M, 7): image index, class, cx, cy, w, h, score
        self.gen = torch.Generator(device=device)
        self.gen.manual_seed(seed)

    def _uniform(self, n: int, lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, device=self.device, generator=self.gen) * (hi - lo) + lo

    def batch(self, idx, augment: bool = True, flip: bool = True, zoom: float = 1.35):
        """Same contract as Dataset.batch: (images (B,3,H,W) in [0,1], targets (n,7))."""
        idx_t = torch.as_tensor(np.asarray(idx), device=self.device, dtype=torch.long)
        B = len(idx_t)
        imgs = self.images[idx_t].permute(0, 3, 1, 2).float().div_(255.0)
        slot = torch.full((len(self.images),), -1, dtype=torch.long, device=self.device)
        slot[idx_t] = torch.arange(B, device=self.device)
        lab_slot = slot[self.labels[:, 0].long()]
        keep = lab_slot >= 0
        lab = self.labels[keep].clone()
        lab[:, 0] = lab_slot[keep].float()
        if not augment:
            return imgs, lab
        _, _, H, W = imgs.shape
        # Zoom into a random window (scale 1..zoom, none below 1.02) and flip half of the images.
        s = self._uniform(B, 1.0, zoom)
        s = torch.where(s > 1.02, s, torch.ones_like(s))
        fw = 1.0 / s  # window size relative to the image
        fx0 = self._uniform(B, 0.0, 1.0) * (1 - fw)
        fy0 = self._uniform(B, 0.0, 1.0) * (1 - fw)
        flip = (torch.rand(B, device=self.device, generator=self.gen) < 0.5) & flip
        sign = torch.where(flip, -torch.ones_like(s), torch.ones_like(s))
        theta = torch.zeros(B, 2, 3, device=self.device)
        theta[:, 0, 0] = fw * sign
        theta[:, 0, 2] = 2 * fx0 + fw - 1
        theta[:, 1, 1] = fw
        theta[:, 1, 2] = 2 * fy0 + fw - 1
        grid = torch.nn.functional.affine_grid(theta, list(imgs.shape), align_corners=False)
        imgs = torch.nn.functional.grid_sample(imgs, grid, mode='bilinear', padding_mode='border', align_corners=False)
        if len(lab):
            b = lab[:, 0].long()
            x1 = (lab[:, 2] - lab[:, 4] / 2 - fx0[b]) / fw[b]
            x2 = (lab[:, 2] + lab[:, 4] / 2 - fx0[b]) / fw[b]
            y1 = (lab[:, 3] - lab[:, 5] / 2 - fy0[b]) / fw[b]
            y2 = (lab[:, 3] + lab[:, 5] / 2 - fy0[b]) / fw[b]
            area = (x2 - x1) * (y2 - y1)
            x1, x2, y1, y2 = x1.clamp(0, 1), x2.clamp(0, 1), y1.clamp(0, 1), y2.clamp(0, 1)
            ok = ((x2 - x1) * (y2 - y1) > 0.4 * area) & (x2 - x1 > 1.5 / W) & (y2 - y1 > 1.5 / H)
            cx = (x1 + x2) / 2
            cx = torch.where(flip[b], 1 - cx, cx)
            lab = torch.stack([lab[:, 0], lab[:, 1], cx, (y1 + y2) / 2, x2 - x1, y2 - y1, lab[:, 6]], 1)[ok]
        # Photometric, per image: channel gain, brightness, contrast, saturation (as augment_one).
        gain = self._uniform(B * 3, 0.9, 1.1).view(B, 3, 1, 1) * self._uniform(B, 0.7, 1.3).view(B, 1, 1, 1)
        imgs = imgs * gain
        mean = imgs.mean(dim=(1, 2, 3), keepdim=True)
        imgs = (imgs - mean) * self._uniform(B, 0.75, 1.25).view(B, 1, 1, 1) + mean
        grey = imgs.mean(1, keepdim=True)
        imgs = (imgs - grey) * self._uniform(B, 0.6, 1.4).view(B, 1, 1, 1) + grey
        return imgs.clamp_(0, 1), lab
