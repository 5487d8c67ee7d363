"""mAP@0.5 of an exported darknet cfg/weights on a YOLO-format dataset, computed with the trainer's
own PyTorch forward, decoding and AP code (independent of the engine's `xnorcam eval`).

    /usr/bin/python3 -m training.evaluate --cfg m.cfg --weights m.weights --data DIR [--device cuda]

Prints one JSON line: {"map50": …, "perClass": {name: AP}, "images": N}."""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from .darknet_cfg import CfgError, parse_cfg
from .darknet_weights import load_weights
from .data import DataError, Dataset
from .model import Network
from .train import evaluate, resolve_device


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog='python3 -m training.evaluate', description=__doc__.split('\n\n')[0])
    p.add_argument('--cfg', required=True)
    p.add_argument('--weights', required=True)
    p.add_argument('--data', required=True, help='YOLO-format dataset (images/, labels/, classes.txt)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--batch', type=int, default=32)
    args = p.parse_args(argv)
    try:
        net = Network(parse_cfg(open(args.cfg, encoding='utf8').read(), args.cfg))
        load_weights(net, args.weights)
        ds = Dataset(args.data, net.width, net.height, None, lambda *_: None)
    except (CfgError, DataError, OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    device = resolve_device(args.device)
    net.to(device)
    m50, aps, agnostic = evaluate(net, ds, np.arange(len(ds)), args.batch, device)
    print(json.dumps({'map50': round(m50, 4), 'perClass': {ds.classes[c]: round(a, 4) for c, a in aps.items()},
                      'classAgnostic50': round(agnostic, 4), 'images': len(ds)}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
