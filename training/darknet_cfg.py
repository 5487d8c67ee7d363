"""Reads and writes the subset of darknet .cfg files the trainer builds networks from.

A cfg is a list of sections: ('net', {...}) first, then layers in order. Values stay strings, so a
cfg written back out is the cfg that was read (plus whatever the trainer set, e.g. classes/anchors).
"""
from __future__ import annotations

from dataclasses import dataclass, field

SUPPORTED = {'net', 'convolutional', 'maxpool', 'route', 'shortcut', 'upsample', 'yolo', 'dropout'}


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


def parse_cfg(text: str, source: str = 'cfg') -> list[Section]:
    sections: list[Section] = []
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
            sections.append(Section(kind, {}, n))
            continue
        if '=' not in line or not sections:
            raise CfgError(f'{source}:{n}: expected key=value, got {line!r}')
        k, v = line.split('=', 1)
        sections[-1].opts[k.strip()] = v.strip()
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
