"""Train a darknet-style (XNOR) YOLO detector on a YOLO-format dataset and export .cfg/.weights.

    /usr/bin/python3 -m training.train --data DIR --out RUN [--cfg training/cfg/xnorcam-wide.cfg]

Writes RUN/model.cfg, RUN/model.weights, RUN/classes.txt (latest) and RUN/best.* (best validation
mAP@0.5), RUN/last.pt (resumable checkpoint; rerunning the same command continues from it) and
RUN/log.jsonl. `xnorcam convert RUN/best.cfg RUN/best.weights --names RUN/classes.txt -o m.xnor`
packs the result for the engine."""
from __future__ import annotations

import os
import signal
import sys

INTERRUPTED = 130  # the shell's code for Ctrl-C: `xnorcam train` and `xnorcam specialise` then pack nothing


def _interrupted_before_training(_signum, _frame):
    # Until the training loop takes over there is nothing to save. os._exit, not an exception: one raised inside
    # `import torch` comes out as a RuntimeError traceback; a dataset cache being written is only a .tmp file then.
    os.write(2, b'interrupted before training began\n')
    os._exit(INTERRUPTED)


if __name__ == '__main__':  # not when training.evaluate or training.recalibrate import this module
    signal.signal(signal.SIGINT, _interrupted_before_training)
    signal.signal(signal.SIGTERM, _interrupted_before_training)

# The handlers above must be in place before these slow imports.
import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from .anchors import kmeans_anchors  # noqa: E402
from .darknet_cfg import CfgError, parse_cfg, read_cfg_file, write_cfg  # noqa: E402
from .darknet_weights import save_weights  # noqa: E402
from .data import DataError, Dataset, DeviceBatcher, objects, read_classes, scored_objects  # noqa: E402
from .model import ConvLayer, Network, XnorConv2d, load_weights  # noqa: E402
from .yolo import BOX_LOSSES, YoloLoss, average_precision, class_agnostic_ap, decode  # noqa: E402

DEFAULT_CFG = os.path.join(os.path.dirname(__file__), 'cfg', 'xnorcam-wide.cfg')  # the bundled model's network


SELECT_FIGURE = {'map': 'mAP@0.5', 'agnostic': 'class-agnostic AP@0.5'}


def zoom_factor(text: str) -> float:
    """argparse type for --zoom: a scale from 1 (no zoom) to 3."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 1.0 <= value <= 3.0:
        raise argparse.ArgumentTypeError(f'{text!r} is not a zoom between 1 and 3')
    return value


def int_at_least(low: int):
    """argparse type: an integer >= low."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'{text!r} is not an integer') from None
        if value < low:
            raise argparse.ArgumentTypeError(f'{text!r} is not an integer >= {low}')
        return value
    return parse


def finite_float(positive: bool):
    """argparse type: a finite number > 0 (positive) or >= 0."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            raise argparse.ArgumentTypeError(f'{text!r} is not a number {">" if positive else ">="} 0')
        return value
    return parse


def parse_args(argv):
    p = argparse.ArgumentParser(prog='python3 -m training.train', description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--data', required=True, help='training dataset (images/, labels/, classes.txt)')
    p.add_argument('--val', help='validation dataset; default: the last 5%% of --data')
    p.add_argument('--out', required=True, help='run directory (checkpoints, exports, log)')
    p.add_argument('--cfg', help=f'darknet cfg describing the network (default: {os.path.relpath(DEFAULT_CFG)}, or the --init run\'s)')
    p.add_argument('--float', action='store_true', help='train every xnor=1 layer as a float layer (the float baseline)')
    p.add_argument('--epochs', type=int_at_least(1), default=30)
    p.add_argument('--batch', type=int_at_least(1), default=16)
    p.add_argument('--lr', type=finite_float(positive=True), default=2e-3, help='peak Adam learning rate')
    p.add_argument('--warmup', type=int_at_least(0), default=300, help='warm-up steps')
    p.add_argument('--anchors', choices=['auto', 'cfg'], default='auto', help='k-means anchors from the labels, or keep the cfg\'s')
    p.add_argument('--box-loss', choices=BOX_LOSSES, default='yolov3',
                   help="box regression loss: darknet YOLOv3's (offsets and log sizes) or 1 - CIoU of the decoded box")
    p.add_argument('--flip', choices=['on', 'off'], default='on',
                   help='mirror half of the training images left-right (off: for one fixed camera view, where the '
                        'mirrored scene never occurs and a teacher\'s labels need not be mirror-symmetric)')
    p.add_argument('--zoom', type=zoom_factor, default=1.35,
                   help='largest random zoom-in of a training image (1: none; for one fixed camera view, where '
                        'vehicles keep the sizes and places they have in its frames)')
    p.add_argument('--threads', type=int_at_least(1), default=2, help='torch CPU threads')
    p.add_argument('--bf16', nargs='?', const='on', default='off', choices=['on', 'off', 'auto'],
                   help='bfloat16 autocast of the forward pass (faster, slightly less exact; `--bf16` alone = on); auto: on '
                        'where the CPU computes bfloat16 on AMX tiles, off on other CPUs (AVX-512 BF16 alone trained worse) and on GPUs')
    p.add_argument('--bn-recalibrate', type=int_at_least(0), default=512, metavar='N',
                   help='before each validation and export, re-estimate every batch norm\'s running mean and variance '
                        'from N training images (unaugmented; 0: keep the running averages of training, as before)')
    p.add_argument('--ckpt-every', type=int_at_least(1), default=200, help='save a resumable checkpoint every N steps')
    p.add_argument('--select', choices=list(SELECT_FIGURE), default='map',
                   help='the validation figure that picks the exported best checkpoint: mAP@0.5 (the mean over classes), '
                        'or class-agnostic AP@0.5, steadier when a class has only a few validation objects '
                        '(xnorcam specialise: a camera\'s few buses)')
    p.add_argument('--eval-every', type=int_at_least(0), default=0, help='validate every N steps (default: once per epoch)')
    p.add_argument('--max-steps', type=int_at_least(0), default=0, help='stop after N steps (quick runs, tests; 0: no limit)')
    p.add_argument('--time-limit', type=finite_float(positive=False), default=0,
                   help='train for this many minutes of wall time (resumes count); the learning-rate schedule then '
                        'follows elapsed time instead of steps, so it anneals fully however fast the machine is (0: none)')
    p.add_argument('--limit', type=int_at_least(0), default=0, help='use only the first N images (quick runs, tests; 0: all)')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--fresh', action='store_true', help='ignore an existing checkpoint in --out')
    p.add_argument('--init', help='start from the weights of another run\'s checkpoint (RUN/last.pt) of the same '
                                  'network, e.g. a --float run: the usual two-stage recipe for binary networks')
    p.add_argument('--size', help='network input WxH (multiples of 32), e.g. 320x320; default: the cfg\'s. With --init '
                                  'the anchors scale with it')
    p.add_argument('--device', default='cpu', help='torch device, e.g. cuda')
    p.add_argument('--batcher', choices=['auto', 'host', 'device'], default='auto',
                   help='where batches are augmented: host (numpy/torch per image) or device (the whole dataset '
                        'on the training device, augmented per batch); auto = device unless training on the CPU')
    return p.parse_args(argv)


def cpu_bf16_flags(cpuinfo: str) -> list[str]:
    """The native bfloat16 features among a /proc/cpuinfo's flags (Linux; elsewhere none are found)."""
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith('flags'):
            flags.update(line.split(':', 1)[1].split())
    return [f for f in ('avx512_bf16', 'amx_bf16') if f in flags]


def resolve_device(text: str) -> torch.device:
    """--device as a device this PyTorch can train on; otherwise SystemExit with a one-line error
    (torch's own errors are stack traces, and an unusable GPU would only fail at the first step)."""
    try:
        device = torch.device(text)
    except RuntimeError:
        raise SystemExit(f'error: --device {text}: not a PyTorch device (cpu, cuda, cuda:1, mps, ...)') from None
    if device.type == 'cuda':
        if not torch.backends.cuda.is_built():
            raise SystemExit(f'error: --device {text}: this PyTorch ({torch.__version__}) is built without CUDA; install a CUDA build or use --device cpu')
        if not torch.cuda.is_available():
            raise SystemExit(f'error: --device {text}: no CUDA GPU is visible to PyTorch')
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise SystemExit(f'error: --device {text}: there are only {torch.cuda.device_count()} CUDA GPUs')
    elif device.type == 'mps' and not torch.backends.mps.is_available():
        raise SystemExit(f'error: --device {text}: Metal (MPS) is not available to this PyTorch')
    elif device.type not in ('cpu', 'cuda', 'mps'):
        raise SystemExit(f'error: --device {text}: the trainer runs on cpu, cuda or mps devices')
    return device


def resolve_bf16(choice: str, device_type: str, cpuinfo: str | None = None) -> tuple[bool, str]:
    """Whether to autocast to bfloat16, and why. auto turns it on only where the CPU has AMX, the case
    measured to train as well as fp32 at 1.7-1.85x the images/s (docs/training.md, a 2-core AMX Xeon); with
    AVX-512 BF16 alone (Zen 4) students trained worse, and without either oneDNN would emulate it."""
    if choice == 'on':
        return True, 'bfloat16 autocast: on (--bf16)'
    if choice == 'off':
        return False, ''
    if device_type != 'cpu':
        return False, f'bfloat16 autocast: off (--bf16 auto decides for CPUs only; training on {device_type})'
    if cpuinfo is None:
        try:
            with open('/proc/cpuinfo', encoding='utf8') as f:
                cpuinfo = f.read()
        except OSError:
            cpuinfo = ''
    found = cpu_bf16_flags(cpuinfo)
    if 'amx_bf16' in found:
        return True, f'bfloat16 autocast: on (--bf16 auto: this CPU has {" and ".join(found)})'
    if found:
        # Measured on a 2-core Zen 4 (AVX-512 BF16, no AMX): a specialised student's training loss stayed ~50 % above
        # fp32's and its held-out F1 fell 0.631 -> 0.544 (docs/specialise.md), so bfloat16 there is opt-in.
        return False, f'bfloat16 autocast: off (--bf16 auto: this CPU has {" and ".join(found)} but no AMX, where bfloat16 trained worse)'
    return False, 'bfloat16 autocast: off (--bf16 auto: this CPU has no native bfloat16)'


def resolve_cfg(text: str, source: str, classes: int, anchors: list[tuple[int, int]] | None):
    """Sets classes (and anchors) in every [yolo] and the filters of the conv feeding it."""
    sections = parse_cfg(text, source)
    for i, s in enumerate(sections):
        if s.kind != 'yolo':
            continue
        s.opts['classes'] = str(classes)
        if anchors:
            s.opts['anchors'] = ', '.join(f'{w},{h}' for w, h in anchors)
            s.opts['num'] = str(len(anchors))
        mask = s.ints('mask')
        prev = sections[i - 1]
        if prev.kind != 'convolutional':
            raise CfgError(f'{source}:{s.line}: [yolo] must follow a [convolutional]')
        prev.opts['filters'] = str(len(mask) * (classes + 5))
    return sections


def check_same_classes(val: str, data: str) -> None:
    """DataError, naming both files, unless --val's classes.txt lists --data's classes in the same order."""
    theirs, ours = read_classes(val), read_classes(data)
    if theirs == ours:
        return
    at = next((i for i, (a, b) in enumerate(zip(theirs, ours)) if a != b), None)
    how = (f'class {at} is {theirs[at]!r} there, {ours[at]!r} here' if at is not None
           else f'{len(theirs)} classes there, {len(ours)} here')
    raise DataError(f'{os.path.join(val, "classes.txt")} does not match {os.path.join(data, "classes.txt")}: {how}')


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise ValueError(f'--size {text}: expected WxH, e.g. 320x320') from None
    if w <= 0 or h <= 0 or w % 32 or h % 32:
        raise ValueError(f'--size {text}: width and height must be positive multiples of 32')
    return w, h


def resize_network(sections, w: int, h: int, w0: int, h0: int, scale_anchors: bool = True):
    """A fully convolutional network runs at any multiple of 32; its anchors are in input pixels, so a
    network moved to another input size keeps its anchors' meaning by scaling them with it."""
    sections[0].opts['width'], sections[0].opts['height'] = str(w), str(h)
    for s in sections:
        if s.kind == 'yolo' and scale_anchors:
            a = s.ints('anchors')
            s.opts['anchors'] = ', '.join(f'{max(1, round(a[i] * w / w0))},{max(1, round(a[i + 1] * h / h0))}' for i in range(0, len(a), 2))


def all_anchors(sections):
    for s in sections:
        if s.kind == 'yolo':
            a = s.ints('anchors')
            return [(a[i], a[i + 1]) for i in range(0, len(a), 2)]
    return []


def export(net: Network, sections, classes, out_dir: str, prefix: str, seen: int, force_float: bool):
    secs = sections
    if force_float:  # the float baseline is exported as what it is: a float network
        secs = [type(s)(s.kind, {k: v for k, v in s.opts.items() if k != 'xnor'}, s.line) for s in sections]
    tmp = os.path.join(out_dir, f'.{prefix}.tmp')
    with open(tmp, 'w') as f:
        f.write(write_cfg(secs))
    os.replace(tmp, os.path.join(out_dir, f'{prefix}.cfg'))
    save_weights(net, tmp, seen)
    os.replace(tmp, os.path.join(out_dir, f'{prefix}.weights'))
    with open(os.path.join(out_dir, 'classes.txt'), 'w') as f:
        f.write('\n'.join(classes) + '\n')


@torch.no_grad()
def recalibrate_bn(net: Network, ds: Dataset, idx, batch: int, device, limit: int) -> None:
    """Sets every batch norm's running mean and variance to their averages over up to `limit` of the images
    `idx` (evenly spread, unaugmented, fp32), from the weights as they are now. The running averages kept
    during training trail the weights: a binary layer's signs flip with every step, its batch norm's input
    statistics with them, and stale statistics move every sign threshold of the next binary layer (measured:
    a specialised student's held-out mAP@0.5 0.04 with its running statistics, 0.27 re-estimated)."""
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    if not norms or limit <= 0 or not len(idx):
        return
    idx = np.asarray(idx)
    if len(idx) > limit:
        idx = idx[np.linspace(0, len(idx) - 1, limit).round().astype(int)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches
    training = net.training
    net.eval()  # the statistics are for inference: dropout off
    for m in norms:
        m.train()
    for k in range(0, len(idx), batch):
        net(torch.from_numpy(ds.images[idx[k:k + batch]]).permute(0, 3, 1, 2).float().div_(255.0).to(device))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    net.train(training)


@torch.no_grad()
def evaluate(net: Network, ds: Dataset, idx, batch: int, device) -> tuple[float, dict, float]:
    """mAP@0.5, AP@0.5 per class, and class-agnostic AP@0.5 (every class as one: is each object found and
    boxed, whatever its class) on the images idx of ds."""
    net.eval()
    dets, gts = [], []
    for k in range(0, len(idx), batch):
        b = idx[k:k + batch]
        imgs = torch.from_numpy(ds.images[b]).permute(0, 3, 1, 2).float().div_(255.0).to(device)
        outs = net(imgs)
        dets += decode([o.cpu() for o in outs], net.yolo, net.width, net.height, thresh=0.005, max_candidates=300)
        gts += [scored_objects(ds.labels[i]) for i in b]
    net.train()
    aps = average_precision(dets, gts, net.num_classes, 0.5)
    return (float(np.mean(list(aps.values()))) if aps else 0.0), aps, class_agnostic_ap(dets, gts, 0.5)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    for flag, folder in (('--data', args.data), ('--val', args.val)):
        if folder is not None and not os.path.isdir(folder):
            raise SystemExit(f'error: {flag} {folder}: ' + ('not a directory' if os.path.exists(folder) else 'no such directory'))
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True  # fixed input size: pick the fastest conv algorithms once
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, 'last.pt')
    log_f = open(os.path.join(args.out, 'log.jsonl'), 'a')

    def say(msg: str, *, to=sys.stdout, **fields):
        print(msg, file=to, flush=True)
        log_f.write(json.dumps({'time': time.time(), 'msg': msg, **fields}) + '\n')
        log_f.flush()

    use_bf16, why = resolve_bf16(args.bf16, device.type)
    if why:
        say(why)
    say(f'box loss: {args.box_loss}; mirrored images: {args.flip}; zoom up to {args.zoom:g}x; batch norm statistics re-estimated from '
        + (f'{args.bn_recalibrate} training images before each validation and export' if args.bn_recalibrate > 0 else 'none (running averages)')
        + f'; best checkpoint by validation {SELECT_FIGURE[args.select]}')

    ckpt = None
    if os.path.isfile(ckpt_path) and not args.fresh:
        ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=False)
        say(f'resuming from {ckpt_path} at step {ckpt["step"]}')

    init = None
    if ckpt is None and args.init:
        init = torch.load(args.init, map_location='cpu', weights_only=False)
        say(f'initialising from {args.init} (step {init["step"]}, {"float" if init.get("float") else "xnor"})')
    try:
        if ckpt is not None:
            base, source = ckpt['cfg'], f'{ckpt_path} (its cfg)'
        elif init is not None and not args.cfg:
            base, source = init['cfg'], f'{args.init} (its cfg)'
        else:
            source = args.cfg or DEFAULT_CFG
            base = read_cfg_file(source)
        net_sec = parse_cfg(base, source)[0]
        W0, H0 = net_sec.int('width'), net_sec.int('height')
        W, H = (W0, H0) if ckpt is not None or not args.size else parse_size(args.size)
        if args.val:  # before decoding anything: validation would score each class as another
            check_same_classes(args.val, args.data)
        cache = os.path.join(args.out, 'cache')
        train_ds = Dataset(args.data, W, H, cache, say, args.limit)
        classes = train_ds.classes
        n = len(train_ds)
        if args.val:
            val_ds = Dataset(args.val, W, H, cache, say)
            val_idx = np.arange(len(val_ds))
            train_idx = np.arange(n)
        else:
            n_val = max(1, n // 20) if n >= 20 else 0
            val_ds, val_idx, train_idx = train_ds, np.arange(n - n_val, n), np.arange(n - n_val)
        anchors = None  # k-means anchors fitted at the (possibly resized) input, or the cfg's
        if ckpt is None and (init is None or args.cfg):
            if args.anchors == 'auto':
                k = len(all_anchors(parse_cfg(base, source)))
                wh = np.concatenate([objects(train_ds.labels[i])[:, 3:5] for i in train_idx]) * np.array([W, H])
                anchors = kmeans_anchors(wh, k, args.seed)
            sections = resolve_cfg(base, source, len(classes), anchors)
        else:
            sections = parse_cfg(base, source)
        if (W, H) != (W0, H0):
            resize_network(sections, W, H, W0, H0, scale_anchors=anchors is None)
        net = Network(sections, force_float=args.float).to(device)
    except (CfgError, DataError, OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    resolved_cfg = write_cfg(sections)

    steps_per_epoch = max(1, math.ceil(len(train_idx) / args.batch))
    total = args.epochs * steps_per_epoch
    if args.max_steps:
        total = min(total, args.max_steps)
    if args.time_limit and not args.max_steps:
        total = 10 ** 9  # the time limit ends the run
    # Weight decay on float conv weights only: binary weights only matter through their sign.
    binary = {id(m.weight) for m in net.modules() if isinstance(m, XnorConv2d)}
    decay = [p for p in net.parameters() if p.ndim == 4 and id(p) not in binary]
    rest = [p for p in net.parameters() if p.ndim != 4 or id(p) in binary]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': rest, 'weight_decay': 0.0}], lr=args.lr)
    loss_fn = YoloLoss(net.yolo, all_anchors(sections), W, H, len(classes), box_loss=args.box_loss)
    step, best, trained_s = 0, -1.0, 0.0
    rng = np.random.default_rng(args.seed)
    if init is not None:
        try:
            load_weights(net, init['model'])
        except ValueError as e:
            raise SystemExit(f'error: {args.init} does not fit the network: {e}') from None
    elif ckpt is None:
        # Objectness starts near 1%: the first steps otherwise spend themselves on the empty cells.
        for head in net.yolo:
            conv = net.layers[head['layer'] - 1].conv
            with torch.no_grad():
                for a in range(len(head['mask'])):
                    conv.bias[a * (len(classes) + 5) + 4] = -4.5
    else:
        net.load_state_dict(ckpt['model'])
        opt.load_state_dict(ckpt['opt'])
        step, best, trained_s = ckpt['step'], ckpt['best'], ckpt.get('trained_s', 0.0)
        picked_by = ckpt.get('select', 'map')
        if picked_by != args.select:  # its best was another figure: not comparable
            say(f'the best checkpoint so far was chosen by {SELECT_FIGURE[picked_by]}; from here by '
                f'{SELECT_FIGURE[args.select]}, starting afresh at the next validation')
            best = -1.0
        rng = np.random.default_rng(args.seed + step)

    def progress_at(s):
        if args.time_limit:
            return min(1.0, (trained_s + time.time() - t0) / (args.time_limit * 60))
        return (s - args.warmup) / max(1, total - args.warmup)

    def lr_at(s):
        if s < args.warmup:
            return args.lr * (s + 1) / args.warmup
        t = progress_at(s)
        return args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))

    def save_ckpt():
        tmp = ckpt_path + '.tmp'
        torch.save({'model': net.state_dict(), 'opt': opt.state_dict(), 'step': step, 'best': best, 'trained_s': trained_s + time.time() - t0,
                    'select': args.select, 'cfg': resolved_cfg, 'float': args.float, 'classes': classes}, tmp)
        os.replace(tmp, ckpt_path)

    interrupted = {'flag': False}

    def on_signal(signum, _frame):
        interrupted['flag'] = True  # the loop ends after this step, with a checkpoint

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    kind = 'xnor' if binary else 'float'  # --float builds no binary layer, nor does a cfg without xnor=1
    params = sum(p.numel() for p in net.parameters())
    say(f'training {kind} {W}x{H} on {len(train_idx)} images ({len(val_idx)} for validation), '
        f'{len(classes)} classes, {params} parameters, {total} steps of {args.batch}',
        anchors=all_anchors(sections))
    t0 = time.time()
    t_last, step_last = t0, step
    eval_every = args.eval_every or steps_per_epoch
    net.train()
    on_device = args.batcher == 'device' or (args.batcher == 'auto' and device.type != 'cpu')
    batcher = DeviceBatcher(train_ds, device, args.seed + step) if on_device else None
    order = rng.permutation(train_idx)
    pos = (step % steps_per_epoch) * args.batch
    running = None
    stats_step = None  # the step whose weights the batch norm statistics were last re-estimated for
    saved_step = ckpt['step'] if ckpt is not None else None
    out_of_time = False
    while step < total and not interrupted['flag'] and not out_of_time:
        if pos >= len(order):
            order, pos = rng.permutation(train_idx), 0
        idx = order[pos:pos + args.batch]
        pos += args.batch
        if batcher is not None:
            imgs, targets = batcher.batch(idx, flip=args.flip == 'on', zoom=args.zoom)
        else:
            imgs, targets = train_ds.batch(idx, augment=True, rng=rng, flip=args.flip == 'on', zoom=args.zoom)
            imgs, targets = imgs.to(device), targets.to(device)
        for g in opt.param_groups:
            g['lr'] = lr_at(step)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            outs = net(imgs)
        loss, parts = loss_fn([o.float() for o in outs], targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        step += 1
        running = parts if running is None else {k: 0.9 * running[k] + 0.1 * v for k, v in parts.items()}
        if step % 20 == 0 or step == total:
            now = time.time()
            rate = (step - step_last) * args.batch / max(1e-6, now - t_last)
            eta = ((1 - progress_at(step)) * args.time_limit * 60 if args.time_limit
                   else (total - step) * args.batch / max(rate, 1e-6))
            say(f'{kind} step {step}{"" if args.time_limit and not args.max_steps else f"/{total}"} epoch {step / steps_per_epoch:.2f} loss box {running["box"]:.3f} '
                f'obj {running["obj"]:.3f} cls {running["cls"]:.3f} lr {lr_at(step):.2e} '
                f'{rate:.1f} img/s ETA {eta / 60:.1f} min', step=step, **running)
            t_last, step_last = now, step
        if args.time_limit and progress_at(step) >= 1.0:
            say(f'time limit of {args.time_limit} min reached')
            out_of_time = True
        last = step == total or out_of_time or interrupted['flag']
        validating = (step % eval_every == 0 or last) and len(val_idx)
        saving = step % args.ckpt_every == 0 or last
        if validating or saving:
            recalibrate_bn(net, train_ds, train_idx, args.batch, device, args.bn_recalibrate)
            stats_step = step
        if validating:
            m50, aps, agnostic = evaluate(net, val_ds, val_idx, args.batch, device)
            say(f'{kind} step {step} validation mAP@0.5 {m50:.4f} class-agnostic {agnostic:.4f} ' +
                ' '.join(f'{classes[c]}={a:.3f}' for c, a in aps.items()), step=step, map50=m50, agnostic50=agnostic)
            chosen = agnostic if args.select == 'agnostic' else m50
            if chosen > best:
                best = chosen
                export(net, sections, classes, args.out, 'best', step * args.batch, args.float)
        if saving:
            export(net, sections, classes, args.out, 'model', step * args.batch, args.float)
            save_ckpt()
            saved_step = step
    if not len(val_idx):
        if stats_step != step:  # the loop's last step re-estimated them already, unless it never ran
            recalibrate_bn(net, train_ds, train_idx, args.batch, device, args.bn_recalibrate)
        export(net, sections, classes, args.out, 'best', step * args.batch, args.float)
    if interrupted['flag'] and step < total and not out_of_time:  # a signal during the last step changes nothing
        if saved_step != step:  # interrupted before this run's first step
            save_ckpt()
        at = (f'{step} ({(trained_s + time.time() - t0) / 60:.1f} of {args.time_limit:g} min trained)'
              if args.time_limit and not args.max_steps else f'{step} of {total}')
        say(f'interrupted at step {at}: {ckpt_path} saved; run the same command again to continue', to=sys.stderr, step=step)
        return INTERRUPTED
    say(f'done: {step} steps in {(time.time() - t0) / 60:.1f} min, best validation {SELECT_FIGURE[args.select]} {best:.4f}; '
        f'exported {os.path.join(args.out, "best.cfg")} + best.weights + classes.txt', step=step, best=best)
    return 0


if __name__ == '__main__':
    sys.exit(main())
