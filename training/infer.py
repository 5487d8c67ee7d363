"""Runs an exported darknet cfg/weights in PyTorch on one raw RGB image (HWC bytes at network size)
and prints JSON: every layer's output (optionally) and the detections, darknet-style.

    /usr/bin/python3 -m training.infer --cfg m.cfg --weights m.weights --rgb img.rgb [--layers 3,5] [--thresh 0.25]

Used by the test that checks PyTorch and the engine agree on an exported model."""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

from .darknet_cfg import parse_cfg
from .darknet_weights import load_weights
from .model import Network
from .yolo import decode


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog='python3 -m training.infer', description=__doc__.split('\n\n')[0])
    p.add_argument('--cfg', required=True)
    p.add_argument('--weights', required=True)
    p.add_argument('--rgb', required=True, help='raw interleaved RGB bytes, network width × height')
    p.add_argument('--layers', default='', help='comma-separated layer indices whose outputs to print ("all" for every layer)')
    p.add_argument('--out', help='write the requested layer outputs as float32 binary files OUT.<layer>.f32 instead of JSON')
    p.add_argument('--thresh', type=float, default=0.25)
    p.add_argument('--nms', type=float, default=0.45)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    net = Network(parse_cfg(open(args.cfg, encoding='utf8').read(), args.cfg))
    load_weights(net, args.weights)
    net.eval()
    raw = np.fromfile(args.rgb, dtype=np.uint8)
    if raw.size != net.width * net.height * 3:
        print(f'error: {args.rgb}: expected {net.width}x{net.height} RGB bytes', file=sys.stderr)
        return 1
    x = torch.from_numpy(raw.reshape(net.height, net.width, 3).astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    with torch.no_grad():
        heads, outs = net(x, keep_all=True)
    dets = decode(heads, net.yolo, net.width, net.height, args.thresh, args.nms)[0]
    want = range(len(outs)) if args.layers == 'all' else [int(v) for v in args.layers.split(',') if v]
    result = {'detections': [{'classId': d[0], 'score': d[1], 'box': d[2:]} for d in dets], 'layers': {}}
    for i in want:
        t = outs[i][0].contiguous().numpy().astype(np.float32)
        if args.out:
            t.tofile(f'{args.out}.{i}.f32')
            result['layers'][str(i)] = list(t.shape)
        else:
            result['layers'][str(i)] = t.ravel().tolist()
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
