"""Screen one CoSeD configuration on a tuning suite: `cosed` (or another method) with `RunConfig` overrides on
16 toy tasks of a suite seed, printed as one line of dependency consistency, caption adherence (with 95%
intervals), adherence per stated attribute and latent-pixel work, and appended to a JSON-lines file.
This is how the CoSeD defaults were chosen (`benchmarks/results/cosed_tuning.md`); held-out suites are run
with `msvid bench` instead.

    python benchmarks/cosed_screen.py NAME SEED [method=cosed] [tasks=16] [FIELD=JSON ...]
    python benchmarks/cosed_screen.py w1 777 adherence_weight=1 shallow_across_places=false
"""

import collections
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from msvid.eval.bench import bootstrap_ci, run_bench, toy_suite
from msvid.eval.probe import load_probe, predict_attributes
from msvid.io.rundir import read_manifest
from msvid.models.presets import resolve_config
from msvid.toy.vocab import STATED


def stated_adherence(tasks, root: Path, method: str, probe) -> dict[str, float]:
    "Per stated attribute, the share of scenes whose keyframe the probe reads as the caption says (%)."
    hits = collections.defaultdict(list)
    for k, t in enumerate(tasks):
        d = root / 'runs' / method / f'{k:04d}'
        pred = predict_attributes(probe, [Image.open(d / s['keyframe']) for s in read_manifest(d)['scenes']])
        for i, g in enumerate(t.meta['toyworld']['steps']):
            for a in STATED:
                hits[a].append(pred[i][a] == g['attributes'][a])
    return {a: round(100 * float(np.mean(v)), 1) for a, v in hits.items()}


def main():
    name, seed, *settings = sys.argv[1:]
    opts = dict(s.split('=', 1) for s in settings)
    method, n = opts.pop('method', 'cosed'), int(opts.pop('tasks', 16))
    torch.set_num_threads(1)
    cfg = resolve_config('toy', 'cpu', **{k: json.loads(v) for k, v in opts.items()})
    out = Path('runs/screen') / f'{name}-{seed}'
    tasks, probe = toy_suite(n, int(seed)), load_probe()
    rows = run_bench(tasks, [method], out, cfg, probe, quiet=True)
    ci = lambda c: [round(100 * x, 1) for x in bootstrap_ci([r[c] for r in rows if not math.isnan(r[c])])]
    res = dict(name=name, seed=int(seed), method=method, settings=opts, dep_all=ci('dep_all'), adherence=ci('adherence'),
               stated=stated_adherence(tasks, out, method, probe),
               latent_pixel_evals=float(np.mean([r['latent_pixel_evals'] for r in rows])))  # fmt: skip
    print(json.dumps(res))
    with open('runs/screen/results.jsonl', 'a') as f:
        f.write(json.dumps(res) + '\n')


if __name__ == '__main__':
    main()
