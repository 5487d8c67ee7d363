"""darknet .weights files: header (major=0, minor=2, revision=0, seen as uint64), then per
[convolutional] layer in cfg order: biases, and with batch_normalize also scales (gamma),
rolling_mean, rolling_variance; then the weights [filters][channels][size][size], all float32.

XNOR layers are written as raw float (shadow) weights plus BN; darknet and `xnorcam convert`
fold BN and binarise at load, which reproduces the trained binary layer (see model.py)."""
from __future__ import annotations

import numpy as np
import torch

from .model import ConvLayer, Network


def _conv_tensors(layer: ConvLayer):
    w = layer.conv.weight
    if layer.norm is not None:
        n = layer.norm
        return [n.bias, n.weight, n.running_mean, n.running_var, w]
    return [layer.conv.bias, w]


def save_weights(net: Network, path: str, seen: int = 0) -> None:
    with open(path, 'wb') as f:
        np.array([0, 2, 0], dtype=np.int32).tofile(f)
        np.array([seen], dtype=np.uint64).tofile(f)
        for layer in net.layers:
            if isinstance(layer, ConvLayer):
                for t in _conv_tensors(layer):
                    t.detach().float().cpu().numpy().astype('<f4').ravel().tofile(f)


def load_weights(net: Network, path: str) -> None:
    with open(path, 'rb') as f:
        major, minor, _rev = np.fromfile(f, dtype=np.int32, count=3)
        np.fromfile(f, dtype=np.uint64 if major * 10 + minor >= 2 else np.uint32, count=1)
        data = np.fromfile(f, dtype='<f4')
    pos = 0
    for layer in net.layers:
        if not isinstance(layer, ConvLayer):
            continue
        for t in _conv_tensors(layer):
            n = t.numel()
            if pos + n > data.size:
                raise ValueError(f'{path}: too short for the cfg ({data.size} floats)')
            with torch.no_grad():
                t.copy_(torch.from_numpy(data[pos:pos + n].copy()).view_as(t))
            pos += n
    if pos != data.size:
        raise ValueError(f'{path}: {data.size - pos} floats left over after the last layer; wrong cfg?')
