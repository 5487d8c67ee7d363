"""Reads and writes the subset of darknet .cfg files the trainer builds networks from.

A cfg is a list of sections: ('net', {...}) first, then layers in order. Values stay strings, so a
cfg written back out is the cfg that was read (plus whatever the trainer set, e.g. classes/anchors).
"""
from __future__ import annotations

from dataclasses import dataclass, field

SUPPORTED = {'net', 'convolutional', 'maxpool', 'route', 'shortcut', 'upsample', 'yolo', 'dropout'}

# The engine's key lists (src/engine/darknet/cfg.ts USED_KEYS and TRAINING_KEYS; a test keeps them equal): a key in
# neither is a typo that would otherwise fall back to its default here and be refused by `xnorcam convert` after training.
USED_KEYS = {
    'net': ['width', 'height', 'channels', 'letter_box', 'inputs'],
    'convolutional': ['filters', 'size', 'stride', 'stride_x', 'stride_y', 'pad', 'padding', 'activation', 'batch_normalize', 'groups',
                      'xnor', 'bin_output', 'dilation', 'flipped'],
    'maxpool': ['size', 'stride', 'stride_x', 'stride_y', 'padding'],
    'route': ['layers', 'groups', 'group_id'],
    'shortcut': ['from', 'activation', 'weights_type', 'weights_normalization'],
    'upsample': ['stride', 'scale'],
    'yolo': ['mask', 'anchors', 'classes', 'num', 'scale_x_y', 'new_coords', 'nms_kind', 'beta_nms'],
    'region': ['anchors', 'classes', 'coords', 'num', 'softmax', 'tree', 'map'],
    'dropout': [],
}
TRAINING_KEYS = {
    'net': [
        'batch', 'subdivisions', 'momentum', 'decay', 'angle', 'saturation', 'exposure', 'hue', 'learning_rate', 'burn_in',
        'max_batches', 'policy', 'steps', 'scales', 'step', 'gamma', 'power', 'mosaic', 'mosaic_bound', 'mixup', 'cutmix',
        'blur', 'flip', 'gaussian_noise', 'aspect', 'jitter', 'max_chart_loss', 'min_crop', 'max_crop', 'track', 'time_steps',
        'augment_speed', 'sequential_subdivisions', 'try_fix_nan', 'loss_scale', 'dynamic_minibatch', 'optimized_memory',
        'workspace_size_limit_mb', 'adam', 'b1', 'b2', 'eps', 'contrastive', 'contrastive_jit_flip', 'contrastive_color',
        'unsupervised', 'label_smooth_eps', 'random', 'train_only_bn', 'adversarial_lr', 'attention', 'show_receptive_field',
        'cosine_min_lr', 'sgdr_cycle', 'sgdr_mult', 'seq_scales', 'num_boxes', 'use_cuda_graph', 'clip', 'ema_alpha',
        'burnin_update', 'rotate', 'max', 'center',
    ],
    'convolutional': ['learning_rate', 'stopbackward', 'train_only_bn', 'dont_update', 'dot', 'angle', 'grad_centr', 'sway', 'stretch',
                      'stretch_sway', 'rotate'],
    'maxpool': ['train_only_bn'],
    'route': ['stopbackward', 'train_only_bn'],
    'shortcut': ['stopbackward', 'train_only_bn'],
    'upsample': ['train_only_bn'],
    'yolo': [
        'jitter', 'ignore_thresh', 'truth_thresh', 'random', 'iou_thresh', 'cls_normalizer', 'iou_normalizer', 'obj_normalizer',
        'iou_loss', 'max_delta', 'counters_per_class', 'label_smooth_eps', 'resize', 'focal_loss', 'objectness_smooth', 'map',
        'max', 'track_history_size', 'sim_thresh', 'dets_for_track', 'dets_for_show', 'track_ciou_norm', 'embedding_layer',
        'uc_normalizer', 'delta_normalizer', 'show_details',
    ],
    'region': [
        'bias_match', 'jitter', 'rescore', 'object_scale', 'noobject_scale', 'class_scale', 'coord_scale', 'absolute', 'thresh',
        'random', 'max', 'focal_loss', 'log', 'sqrt', 'max_delta', 'resize',
    ],
    'dropout': ['probability', 'dropblock', 'dropblock_size_rel', 'dropblock_size_abs'],
}

# Keys the engine runs at other values but the trainer ignores: at any other value the network trained here would not
# be the one deployed.
ONLY_VALUES = {
    'net': {'letter_box': '0'},
    'convolutional': {'dilation': '1', 'flipped': '0'},
    'route': {'groups': '1', 'group_id': '0'},
    'shortcut': {'weights_type': 'none', 'weights_normalization': 'none'},
    'upsample': {'scale': '1'},
    'yolo': {'scale_x_y': '1', 'new_coords': '0'},
}
ACTIVATIONS = ('leaky', 'linear', 'relu', 'logistic')  # model.py's; the engine also runs mish and swish


class CfgError(ValueError):
    pass


@dataclass
class Section:
    kind: str
    opts: dict = field(default_factory=dict)
    line: int = 0

    def get(self, key: str, default=None):
        return self.opts.get(key, default)

    def int(self, key: str, default: int | None = None) -> int:
        v = self.opts.get(key)
        if v is None:
            if default is None:
                raise CfgError(f'line {self.line}: [{self.kind}] needs {key}=')
            return default
        try:
            return int(v)
        except ValueError:
            raise CfgError(f'line {self.line}: [{self.kind}] {key}={v} is not an integer') from None

    def ints(self, key: str) -> list[int]:
        v = self.opts.get(key)
        if v is None:
            raise CfgError(f'line {self.line}: [{self.kind}] needs {key}=')
        return [int(x) for x in v.split(',') if x.strip()]


def _same_value(value: str, want: str) -> bool:
    try:
        return float(value) == float(want)  # scale_x_y=1.00 is 1
    except ValueError:
        return value.lower() == want


def _check_values(s: Section, lines: dict, source: str) -> None:
    """Refuses values the trainer would not build as the engine runs them (see ONLY_VALUES)."""
    for key, want in ONLY_VALUES.get(s.kind, {}).items():
        if key in s.opts and not _same_value(s.opts[key], want):
            raise CfgError(f'{source}:{lines[key]}: {key}={s.opts[key]} in [{s.kind}] is not supported by the trainer (only {want})')
    if s.kind in ('convolutional', 'maxpool'):
        # The trainer reads stride alone; the engine reads stride_x/stride_y over it (maxpool's stride defaults to 1, as darknet's).
        stride = s.opts.get('stride', '1')
        for key in ('stride_x', 'stride_y'):
            if key in s.opts and not _same_value(s.opts[key], stride):
                raise CfgError(f'{source}:{lines[key]}: {key}={s.opts[key]} in [{s.kind}] is not supported by the trainer '
                               f'(only the layer\'s stride, {stride})')
    if s.kind in ('convolutional', 'shortcut') and 'activation' in s.opts and s.opts['activation'].lower() not in ACTIVATIONS:
        raise CfgError(f'{source}:{lines["activation"]}: activation={s.opts["activation"]} in [{s.kind}] is not supported by the trainer '
                       f'({", ".join(ACTIVATIONS)})')


def read_cfg_file(path: str) -> str:
    """The text of a cfg file; CfgError naming it when it is missing or not text (e.g. a .weights file given as --cfg)."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        raise CfgError(f'{path}: {e.strerror or e}') from None
    # As the engine reads it: a stray Latin-1 byte in a comment is no reason to refuse a cfg, a NUL byte is.
    if b'\0' in data[:4096]:
        raise CfgError(f'{path}: not a text darknet .cfg file')
    return data.decode('utf8', errors='replace')


def parse_cfg(text: str, source: str = 'cfg') -> list[Section]:
    sections: list[Section] = []
    lines: dict[str, int] = {}  # the line of each key of the last section
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split('#', 1)[0].split(';', 1)[0].strip()
        if not line:
            continue
        if line.startswith('['):
            if not line.endswith(']'):
                raise CfgError(f'{source}:{n}: malformed section header {line!r}')
            kind = line[1:-1].strip()
            if kind == 'conv':
                kind = 'convolutional'
            if kind not in SUPPORTED:
                raise CfgError(f'{source}:{n}: layer type [{kind}] is not supported by the trainer')
            if sections:
                _check_values(sections[-1], lines, source)
            sections.append(Section(kind, {}, n))
            lines = {}
            continue
        if '=' not in line or not sections:
            raise CfgError(f'{source}:{n}: expected key=value, got {line!r}')
        k, v = line.split('=', 1)
        k, sec = k.strip().lower(), sections[-1]  # the engine's keys are case-insensitive
        if k not in USED_KEYS[sec.kind] and k not in TRAINING_KEYS[sec.kind]:
            raise CfgError(f'{source}:{n}: unknown key {k!r} in [{sec.kind}]')
        if k in sec.opts:
            raise CfgError(f'{source}:{n}: duplicate key {k!r} in [{sec.kind}] (first at line {lines[k]})')
        sec.opts[k] = v.strip()
        lines[k] = n
    if sections:
        _check_values(sections[-1], lines, source)
    if not sections or sections[0].kind != 'net':
        raise CfgError(f'{source}: the first section must be [net]')
    return sections


def write_cfg(sections: list[Section]) -> str:
    out = []
    for s in sections:
        out.append(f'[{s.kind}]')
        out.extend(f'{k}={v}' for k, v in s.opts.items())
        out.append('')
    return '\n'.join(out)
