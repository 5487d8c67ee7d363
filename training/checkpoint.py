"""Makes a trainer checkpoint (the `--init` starting point of fine-tuning and `xnorcam specialise`)
from an exported darknet cfg/weights pair, e.g. a model trained elsewhere or the bundled model.

    /usr/bin/python3 -m training.checkpoint --cfg m.cfg --weights m.weights --classes classes.txt -o m.pt [--half]

--half stores the tensors as float16 (half the size; fine-tuning starts from them in float32)."""
from __future__ import annotations

import argparse
import os
import sys

import torch

from .darknet_cfg import CfgError, parse_cfg
from .darknet_weights import load_weights
from .model import Network


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog='python3 -m training.checkpoint', description=__doc__.split('\n\n')[0])
    p.add_argument('--cfg', required=True)
    p.add_argument('--weights', required=True)
    p.add_argument('--classes', required=True, help='classes.txt, one name per line')
    p.add_argument('-o', '--out', required=True)
    p.add_argument('--half', action='store_true')
    args = p.parse_args(argv)
    try:
        text = open(args.cfg, encoding='utf8').read()
        net = Network(parse_cfg(text, args.cfg))
        load_weights(net, args.weights)
        classes = [l.strip() for l in open(args.classes, encoding='utf8') if l.strip()]
    except (CfgError, OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    state = {k: (v.half() if args.half and v.is_floating_point() else v) for k, v in net.state_dict().items()}
    tmp = args.out + '.tmp'
    torch.save({'model': state, 'cfg': text, 'step': 0, 'best': -1.0, 'float': False, 'classes': classes}, tmp)
    os.replace(tmp, args.out)
    print(f'{args.out}: {sum(v.numel() for v in state.values())} values from {args.weights}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
