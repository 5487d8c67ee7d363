"""A darknet network (the layer types the trainer supports) as a PyTorch module.

XNOR convolutions reproduce darknet's CPU inference numerics exactly in structure:
  * the input is reduced to its sign, bit = x > 0 (0 and negatives count as -1);
  * spatial padding counts as -1, because darknet pads the bit matrix with 0 bits;
  * weights become sign(w) * mean|w| per filter (XNOR-Net's alpha);
  * batch norm comes after the binary convolution. At export the raw float weights and BN
    parameters are written; darknet (and `xnorcam convert`) fold BN into the weights first and then
    binarise: sign(w*s) = sign(w)*sign(s) and mean|w*s| = |s|*mean|w|, so the folded binary layer
    computes s*alpha*dot + (beta - s*mean) = BN(alpha*dot), which is what was trained.
Gradients pass the sign functions straight through (clipped to |x| <= 1 for activations).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .darknet_cfg import CfgError, Section

BN_EPS = 1e-5  # darknet's fuse_conv_batchnorm uses sqrt(var + 0.00001)


class _SignActivation(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x > 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


def sign_activation(x: torch.Tensor) -> torch.Tensor:
    return _SignActivation.apply(x)


def binary_weights(w: torch.Tensor) -> torch.Tensor:
    """sign(w) * mean|w| per output filter; the gradient reaches w unchanged (straight through)."""
    alpha = w.detach().abs().mean(dim=(1, 2, 3), keepdim=True)
    wb = torch.where(w.detach() > 0, alpha, -alpha)
    return w + (wb - w).detach()


class XnorConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, size: int, stride: int, pad: int):
        super().__init__()
        self.stride, self.pad = stride, pad
        self.weight = nn.Parameter(torch.empty(cout, cin, size, size))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xb = sign_activation(x)
        if self.pad:
            xb = F.pad(xb, (self.pad,) * 4, value=-1.0)
        return F.conv2d(xb, binary_weights(self.weight), None, self.stride)


def _activation(name: str, x: torch.Tensor) -> torch.Tensor:
    if name == 'leaky':
        return F.leaky_relu(x, 0.1)
    if name == 'linear':
        return x
    if name == 'relu':
        return F.relu(x)
    if name == 'logistic':
        return torch.sigmoid(x)
    raise CfgError(f'activation {name} is not supported by the trainer')


class ConvLayer(nn.Module):
    def __init__(self, s: Section, cin: int, force_float: bool):
        super().__init__()
        self.filters = s.int('filters', 1)
        size = s.int('size', 1)
        stride = s.int('stride', 1)
        pad = size // 2 if s.int('pad', 0) else s.int('padding', 0)
        groups = s.int('groups', 1)
        if groups < 1 or cin % groups or self.filters % groups:
            raise CfgError(f'line {s.line}: groups={groups} does not divide {cin} input and {self.filters} output channels')
        self.xnor = bool(s.int('xnor', 0)) and not force_float
        if self.xnor and groups != 1:
            # darknet (and the engine after it) forces groups=1 on XNOR layers: what trained here as a grouped
            # binary conv would run there as a full one.
            raise CfgError(f'line {s.line}: a grouped convolution cannot be xnor=1')
        self.bn = bool(s.int('batch_normalize', 0))
        self.activation = s.get('activation', 'logistic').lower()
        self.cin, self.size = cin, size
        if self.xnor:
            self.conv = XnorConv2d(cin, self.filters, size, stride, pad)
        else:
            self.conv = nn.Conv2d(cin, self.filters, size, stride, pad, bias=not self.bn, groups=groups)
        self.norm = nn.BatchNorm2d(self.filters, eps=BN_EPS, momentum=0.03) if self.bn else None

    def forward(self, x):
        y = self.conv(x)
        if self.norm is not None:
            y = self.norm(y)
        return _activation(self.activation, y)


class MaxPool(nn.Module):
    """darknet maxpool: out = (in + pad - size)/stride + 1 with pad = size-1 by default, offset -pad/2."""

    def __init__(self, s: Section):
        super().__init__()
        self.size = s.int('size', 1)
        self.stride = s.int('stride', 1)  # darknet's (and the engine's) default, not the size
        self.padding = s.int('padding', self.size - 1)

    def out_hw(self, h: int, w: int):
        return (h + self.padding - self.size) // self.stride + 1, (w + self.padding - self.size) // self.stride + 1

    def forward(self, x):
        h, w = x.shape[2:]
        oh, ow = self.out_hw(h, w)
        left = self.padding // 2
        need_h = (oh - 1) * self.stride + self.size
        need_w = (ow - 1) * self.stride + self.size
        right_w, bottom = need_w - w - left, need_h - h - left
        if left or right_w > 0 or bottom > 0:
            x = F.pad(x, (left, max(right_w, 0), left, max(bottom, 0)), value=float('-inf'))
        return F.max_pool2d(x, self.size, self.stride)[:, :, :oh, :ow]


class Network(nn.Module):
    """Builds the layers of a parsed cfg. forward() returns the raw outputs of the [yolo] layers."""

    def __init__(self, sections: list[Section], force_float: bool = False):
        super().__init__()
        net = sections[0]
        self.width, self.height = net.int('width'), net.int('height')
        self.channels = net.int('channels', 3)
        self.layers = nn.ModuleList()
        self.specs: list[Section] = []
        self.yolo: list[dict] = []
        shapes: list[tuple[int, int, int]] = []  # (c, h, w) per layer
        c, h, w = self.channels, self.height, self.width
        for s in sections[1:]:
            i = len(self.specs)
            ref = lambda v: v if v >= 0 else i + v  # noqa: E731
            if s.kind == 'convolutional':
                layer = ConvLayer(s, c, force_float)
                size, stride = s.int('size', 1), s.int('stride', 1)
                pad = size // 2 if s.int('pad', 0) else s.int('padding', 0)
                c, h, w = layer.filters, (h + 2 * pad - size) // stride + 1, (w + 2 * pad - size) // stride + 1
            elif s.kind == 'maxpool':
                layer = MaxPool(s)
                h, w = layer.out_hw(h, w)
            elif s.kind == 'dropout':
                # Dropout on darknet's terms: scaled up while training, the identity at inference.
                try:
                    p = float(s.get('probability', '0.5'))
                    if not 0 <= p < 1:
                        raise ValueError
                except ValueError:
                    raise CfgError(f'line {s.line}: [dropout] probability={s.get("probability")} is not a number in [0, 1)') from None
                layer = nn.Dropout(p)
            elif s.kind == 'upsample':
                layer = nn.Upsample(scale_factor=s.int('stride', 2), mode='nearest')
                h, w = h * s.int('stride', 2), w * s.int('stride', 2)
            elif s.kind == 'route':
                idx = [ref(v) for v in s.ints('layers')]
                for j in idx:
                    if not 0 <= j < i or shapes[j][1:] != shapes[idx[0]][1:]:
                        raise CfgError(f'line {s.line}: [route] layers={s.get("layers")} does not fit')
                layer = nn.Identity()
                layer.refs = idx
                c, h, w = sum(shapes[j][0] for j in idx), shapes[idx[0]][1], shapes[idx[0]][2]
            elif s.kind == 'shortcut':
                j = ref(s.ints('from')[0])
                if not 0 <= j < i or shapes[j] != (c, h, w):
                    raise CfgError(f'line {s.line}: [shortcut] from={s.get("from")} has a different shape')
                layer = nn.Identity()
                layer.refs = [j]
                layer.activation = s.get('activation', 'linear').lower()
            elif s.kind == 'yolo':
                mask = s.ints('mask')
                anchors = s.ints('anchors') if s.get('anchors') else []
                classes = s.int('classes')
                if c != len(mask) * (classes + 5):
                    raise CfgError(f'line {s.line}: [yolo] expects {len(mask) * (classes + 5)} input channels, got {c}')
                layer = nn.Identity()
                self.yolo.append({'layer': i, 'mask': mask, 'classes': classes, 'h': h, 'w': w,
                                  'anchors': [(anchors[2 * m], anchors[2 * m + 1]) for m in mask] if anchors else []})
            else:
                raise CfgError(f'line {s.line}: [{s.kind}] is not supported')
            self.layers.append(layer)
            self.specs.append(s)
            shapes.append((c, h, w))
        self.shapes = shapes
        self._apply_bin_output()
        if not self.yolo:
            raise CfgError('the cfg has no [yolo] layer')
        self.num_classes = self.yolo[0]['classes']

    def _apply_bin_output(self) -> None:
        """darknet (and the engine) run an xnor=1 layer with bin_output=1 as linear unless a [route] or [shortcut] reads
        its output (darknet's AlexeyAB XNOR cfgs set it with activation=leaky): trained the same way, so PyTorch and
        the engine compute the same network."""
        read_as_float = set()
        for i, (s, layer) in enumerate(zip(self.specs, self.layers)):
            if s.kind == 'route':
                read_as_float.update(layer.refs)
            elif s.kind == 'shortcut':
                read_as_float.update((layer.refs[0], i - 1))
        for i, (s, layer) in enumerate(zip(self.specs, self.layers)):
            if isinstance(layer, ConvLayer) and layer.xnor and s.int('bin_output', 0) and i not in read_as_float:
                layer.activation = 'linear'

    def forward(self, x, keep_all: bool = False):
        outs = []
        heads = []
        for s, layer in zip(self.specs, self.layers):
            if s.kind == 'route':
                x = torch.cat([outs[j] for j in layer.refs], 1) if len(layer.refs) > 1 else outs[layer.refs[0]]
            elif s.kind == 'shortcut':
                x = _activation(layer.activation, x + outs[layer.refs[0]])
            elif s.kind == 'yolo':
                heads.append(x)
            else:
                x = layer(x)
            outs.append(x)
        return (heads, outs) if keep_all else heads


def load_weights(net: Network, state: dict) -> None:
    """Copies a checkpoint's tensors into net (float16 ones converted to the parameters' float32). ValueError,
    in one line, when they do not fit: the tensors missing or left over, or the first of another shape."""
    try:
        fit = net.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a tensor of another shape: PyTorch names it on the message's second line
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        raise ValueError(lines[1] if len(lines) > 1 else lines[0]) from None
    if fit.missing_keys or fit.unexpected_keys:
        raise ValueError(f'missing {fit.missing_keys[:3]}, unexpected {fit.unexpected_keys[:3]}')
