"""What a toy benchmark folder (`msvid bench --suite toy ... --out DIR`) says beyond its results table: the cost per
step of long tasks against short ones, how often each method picks a candidate from a true dependency (against a
random pick among the same candidates), and dependency consistency attribute by attribute.

    python benchmarks/cosed_report.py runs/bench2026 --tasks 40 --seed 2026

Prints markdown tables; reads only the run folders (the probe reads the keyframes again)."""

import argparse
import collections
import csv
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from msvid.eval.bench import PERSISTENT, toy_suite
from msvid.eval.probe import load_probe, predict_attributes
from msvid.eval.selection import choice_accuracy, selection_counts
from msvid.io.rundir import read_manifest
from msvid.toy.vocab import STATED


def cost_per_step(rows: list[dict], lo: int, hi: int) -> float:
    "Mean latent-pixel evaluations per step over the tasks of `lo`..`hi` steps."
    xs = [float(r['latent_pixel_evals']) / int(r['steps']) for r in rows if lo <= int(r['steps']) <= hi]
    return float(np.mean(xs)) if xs else math.nan


def _mean(rows: list[dict], col: str) -> float:
    return float(np.mean([float(r[col]) for r in rows]))


COST_COLUMNS = ('method', 'latent-pixel evals / task', 'vs independent', 'seconds / task', 'vs independent',
                'cost per step, long / short')  # fmt: skip


def cost_table(rows: list[dict]) -> str:
    "Per method: latent-pixel work and seconds relative to independent, and long (8-10 steps) / short (3-5) per step."
    by = collections.defaultdict(list)
    for r in rows:
        by[r['method']].append(r)
    ind = by['independent']
    out = ['| ' + ' | '.join(COST_COLUMNS) + ' |', '|---' * len(COST_COLUMNS) + '|']
    for m, rs in by.items():
        px, s = _mean(rs, 'latent_pixel_evals'), _mean(rs, 'seconds')
        long_short = cost_per_step(rs, 8, 10) / cost_per_step(rs, 3, 5)
        cells = [m, f'{px:.0f}', f"{px / _mean(ind, 'latent_pixel_evals'):.2f}x", f'{s:.2f}',
                 f"{s / _mean(ind, 'seconds'):.2f}x", f'{long_short:.2f}']  # fmt: skip
        out.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(out)


def choice_table(root: Path, methods: list[str]) -> str:
    "Per method: share of picks from a true dependency where the choice mattered, a random pick's, and task-seed picks."
    out = ['| method | scenes with a choice | picks from a true dependency | random pick | task-seed picks |',
           '|---|---|---|---|---|']  # fmt: skip
    for m in methods:
        mans = [read_manifest(d) for d in sorted((root / 'runs' / m).iterdir())]
        acc, dist = choice_accuracy(mans), selection_counts(mans)['distance']
        if acc['scenes']:
            seed_share = dist.get('task seed', 0) / max(1, sum(dist.values()))
            out.append(f"| {m} | {acc['scenes']} | {100 * acc['picked']:.1f}% | {100 * acc['random']:.1f}% | "
                       f"{100 * seed_share:.1f}% |")  # fmt: skip
    return '\n'.join(out)


def _predictions(root: Path, method: str, k: int, probe) -> list[dict]:
    "The probe's reading of every keyframe of task `k`'s run with `method`."
    d = root / 'runs' / method / f'{k:04d}'
    return predict_attributes(probe, [Image.open(d / s['keyframe']) for s in read_manifest(d)['scenes']])


def _table(res: dict, methods: list[str], attributes) -> str:
    out = ['| attribute | ' + ' | '.join(methods) + ' |', '|---' * (len(methods) + 1) + '|']
    for a in attributes:
        n = len(res[methods[0]][a])
        out.append(f'| {a} (n={n}) | ' + ' | '.join(f'{100 * np.mean(res[m][a]):.1f}' for m in methods) + ' |')
    return '\n'.join(out)


def attribute_tables(root: Path, tasks, methods: list[str]) -> tuple[str, str]:
    "Per attribute and method: dependency consistency (pairs read alike) and caption adherence (read as stated)."
    probe, dep, adh = load_probe(), {}, {}
    for m in methods:
        dep[m], adh[m] = collections.defaultdict(list), collections.defaultdict(list)
        for k, t in enumerate(tasks):
            pred, gt = _predictions(root, m, k, probe), t.meta['toyworld']['steps']
            for n, g in enumerate(gt):
                for a in STATED:
                    adh[m][a].append(pred[n][a] == g['attributes'][a])
                for d in g['depends_on']:
                    for a in PERSISTENT:
                        if g['attributes'][a] == gt[d]['attributes'][a]:
                            dep[m][a].append(pred[n][a] == pred[d][a])
    return _table(dep, methods, PERSISTENT), _table(adh, methods, STATED)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('folder', type=Path, help='a toy benchmark folder (with results.csv and runs/)')
    p.add_argument('--tasks', type=int, required=True, help='the --tasks of the benchmark')
    p.add_argument('--seed', type=int, required=True, help='the suite --seed of the benchmark')
    p.add_argument('--attributes', default='cosed,fixed-seed,independent', help='methods for the attribute table')
    a = p.parse_args()
    torch.set_num_threads(1)
    with open(a.folder / 'results.csv') as f:
        rows = list(csv.DictReader(f))
    methods = list(dict.fromkeys(r['method'] for r in rows))
    print('## Cost\n\n' + cost_table(rows))
    print('\n## Choices\n\n' + choice_table(a.folder, methods))
    tasks = toy_suite(a.tasks, a.seed)
    dep, adh = attribute_tables(a.folder, tasks, a.attributes.split(','))
    print('\n## Dependency consistency per attribute (%)\n\n' + dep)
    print('\n## Caption adherence per stated attribute (%)\n\n' + adh)


if __name__ == '__main__':
    main()
