"""Re-estimates a trained network's batch norm statistics from a YOLO-format dataset's images and exports
it as darknet cfg/weights (what `xnorcam convert` packs and `training.checkpoint` turns back into a
checkpoint). For models trained before the trainer did this itself (`--bn-recalibrate`): their exported
running averages trail the weights (docs/training.md).

    /usr/bin/python3 -m training.recalibrate --init RUN/last.pt --data DIR [--images 512] --out DIR

--images 0 exports the checkpoint's weights unchanged (a checkpoint to cfg/weights)."""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

from .darknet_cfg import CfgError, parse_cfg
from .data import DataError, Dataset
from .model import Network, load_weights
from .train import export, recalibrate_bn


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog='python3 -m training.recalibrate', description=__doc__.split('\n\n')[0])
    p.add_argument('--init', required=True, help="a trainer checkpoint (RUN/last.pt, models/xnorcam-traffic.pt)")
    p.add_argument('--data', help='YOLO-format dataset whose images set the statistics (needed unless --images 0)')
    p.add_argument('--images', type=int, default=512, help='images to average over, evenly spread (0: export unchanged)')
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--threads', type=int, default=1,
                   help='torch CPU threads (default 1: the same statistics on every run; with more, float sums in another '
                        'order flip a few binary signs, and the statistics of the layers after them move)')
    p.add_argument('--out', required=True, help='directory for model.cfg, model.weights, classes.txt')
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.images > 0 and not args.data:
        print('error: --data is needed to re-estimate the statistics (or --images 0 to export unchanged)', file=sys.stderr)
        return 2
    try:
        ck = torch.load(args.init, map_location='cpu', weights_only=False)
        sections = parse_cfg(ck['cfg'], args.init)
        net = Network(sections, force_float=bool(ck.get('float')))
        try:
            load_weights(net, ck['model'])
        except ValueError as e:
            raise ValueError(f'its weights do not fit its own cfg: {e}') from None
        if args.images > 0:
            ds = Dataset(args.data, net.width, net.height, None, lambda *a, **k: None)
            recalibrate_bn(net, ds, np.arange(len(ds)), args.batch, torch.device('cpu'), args.images)
    except (CfgError, DataError, OSError, KeyError, ValueError) as e:
        print(f'error: {args.init}: {e}', file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    export(net, sections, ck['classes'], args.out, 'model', 0, bool(ck.get('float')))
    done = f'statistics from {min(args.images, len(ds))} images of {args.data}' if args.images > 0 else 'weights unchanged'
    print(f'{os.path.join(args.out, "model.cfg")} + model.weights + classes.txt: {done}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
