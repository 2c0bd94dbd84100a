"""CoSeD's quality bars on the toy flow preset beside the toy UNet preset: paired differences over the same tasks.

    M=cosed,fixed-seed,independent
    msvid bench --suite toy --tasks 40 --seed S --preset toy --methods $M --out runs/S/toy
    msvid bench --suite toy --tasks 40 --seed S --preset toy-flow --methods $M --out runs/S/toy-flow
    python benchmarks/flow_methods.py runs/S/toy runs/S/toy-flow

Reads each folder's `results.csv` (one row per task and method). Differences are paired by task (the same task
file, the same seeds), with 95% percentile-bootstrap intervals; costs are relative to `independent` in the same
run. Prints markdown tables, a row per folder (named by the folder), a column per bar.
"""

from __future__ import annotations
import argparse, csv
from pathlib import Path

import numpy as np

from msvid.eval.bench import bootstrap_ci, interval_text


def by_method(folder: Path) -> dict[str, dict[int, dict]]:
    "method -> task -> row of `folder/results.csv` (numbers as floats)."
    out = {}
    for r in csv.DictReader((folder / 'results.csv').open()):
        out.setdefault(r['method'], {})[int(r['task'])] = {k: _num(v) for k, v in r.items()}
    return out


def _num(v: str):
    try:
        return float(v)
    except ValueError:
        return v


def paired(rows: dict, a: str, b: str, col: str) -> str:
    "Mean [95% interval] of `a` - `b` in `col` over their common tasks, in points."
    tasks = sorted(set(rows[a]) & set(rows[b]))
    return interval_text(*bootstrap_ci([rows[a][t][col] - rows[b][t][col] for t in tasks]), 100, 1)


def ratio(rows: dict, a: str, b: str, col: str) -> str:
    "Total `col` of `a` over `b`'s."
    return f"{sum(r[col] for r in rows[a].values()) / sum(r[col] for r in rows[b].values()):.2f}x"


def mean(rows: dict, m: str, col: str) -> str:
    return interval_text(*bootstrap_ci([r[col] for r in rows[m].values()]), 100, 1)


HEAD = ('preset', 'tasks', 'cosed dep. consistency (%)', 'cosed - fixed-seed (bar >= 0)',
        'cosed - independent (bar >= +20)', 'adherence: cosed - independent (bar >= -1)',
        'latent-pixel work vs independent (bar <= 1.5x)', 'seconds vs independent')  # fmt: skip


def row(name: str, rows: dict) -> list[str]:
    n = len(rows['cosed'])
    return [name, str(n), mean(rows, 'cosed', 'dep_all'), paired(rows, 'cosed', 'fixed-seed', 'dep_all'),
            paired(rows, 'cosed', 'independent', 'dep_all'), paired(rows, 'cosed', 'independent', 'adherence'),
            ratio(rows, 'cosed', 'independent', 'latent_pixel_evals'),
            ratio(rows, 'cosed', 'independent', 'seconds')]  # fmt: skip


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        'folders', nargs='+', type=Path, help='bench output folders, one per preset (the row takes the folder\'s name)'
    )
    a = ap.parse_args()
    print('| ' + ' | '.join(HEAD) + ' |\n' + '|---' * len(HEAD) + '|')
    for f in a.folders:
        print('| ' + ' | '.join(row(f.name, by_method(f))) + ' |')
    print('\nAll methods, mean [95% interval] over tasks:\n')
    print(
        '| preset | method | dep. consistency (%) | adherence (%) | latent-pixel evals / task |\n|---|---|---|---|---|'
    )
    for f in a.folders:
        rows = by_method(f)
        for m in rows:
            px = np.mean([r['latent_pixel_evals'] for r in rows[m].values()])
            print(f"| {f.name} | {m} | {mean(rows, m, 'dep_all')} | {mean(rows, m, 'adherence')} | {px:.0f} |")


if __name__ == '__main__':
    main()
