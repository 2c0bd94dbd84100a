"""What CoSeD's choice rules pick (issue #31): at each scene where the choice matters, the kind of candidate picked (a
true dependency's latent, another scene's, the task seed's plain render, fresh noise) against a uniform pick among
the same candidates.

    S=13579
    M=cosed,clip-only
    msvid bench --suite toy --tasks 40 --seed $S --methods $M --out runs/kinds$S/deps
    msvid bench --suite toy --tasks 40 --seed $S --methods cosed --consistency selector --out runs/kinds$S/deps-selector
    ALL='--sources all --window 6 --max-candidates 16'  # every earlier scene a candidate, one recorded index each
    msvid bench --suite toy --tasks 40 --seed $S --methods $M $ALL --out runs/kinds$S/all
    msvid bench --suite toy --tasks 40 --seed $S --methods cosed --consistency selector $ALL --out runs/kinds$S/all-selector
    python benchmarks/pick_kinds.py runs/kinds$S/{deps,deps-selector,all,all-selector} \\
        --pairs deps/cosed:deps/clip-only,deps/cosed:deps-selector/cosed,all/cosed:all/clip-only,all/cosed:all-selector/cosed,all/cosed:deps/cosed

Each folder's every method is a row (named folder/method; `cosed` in a `-selector` folder chooses by the learned
selector). Shares pool the scenes of all tasks; 95% percentile-bootstrap intervals resample tasks. "picked - uniform"
is paired: the same scenes, the same candidates. `--pairs A:B` adds A - B in dependency consistency and adherence
(`results.csv`), paired by task.
"""

from __future__ import annotations
import argparse
from pathlib import Path

import numpy as np

from flow_methods import by_method, paired  # benchmarks/ is the script's folder
from msvid.eval.selection import PICK_KINDS, pick_kinds
from msvid.eval.widgets import manifests_by_method


def gains(mans: list[dict]) -> np.ndarray:
    "Picked minus a uniform pick's share, per kind of `PICK_KINDS`."
    k = pick_kinds(mans)
    return np.array([k['picked'][c] - k['uniform'][c] for c in PICK_KINDS])


def gain_intervals(mans: list[dict], n: int = 2000, seed: int = 0) -> list[str]:
    "`gains` in points, each with a 95% interval from resampling the tasks."
    rng = np.random.default_rng(seed)
    draws = np.stack([gains([mans[k] for k in rng.integers(0, len(mans), len(mans))]) for _ in range(n)])
    lo, hi = np.nanpercentile(draws, [2.5, 97.5], axis=0)
    return [f'{100 * g:+.1f} [{100 * a:+.1f}, {100 * b:+.1f}]' for g, a, b in zip(gains(mans), lo, hi)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('folders', nargs='+', type=Path, help='bench output folders')
    ap.add_argument('--pairs', default='', help='comma-separated A:B of rule names (folder/method) to compare')
    a = ap.parse_args()
    rows = {f'{f.name}/{m}': mans for f in a.folders for m, mans in manifests_by_method(f / 'runs').items()}
    print('Share of picks (%) and a uniform pick\'s among the same candidates, where the choice mattered:\n')
    print('| rule | scenes | ' + ' | '.join(f'{k}: picked (uniform)' for k in PICK_KINDS) + ' |')
    print('|---' * (2 + len(PICK_KINDS)) + '|')
    for name, mans in rows.items():
        k = pick_kinds(mans)
        cells = [f"{100 * k['picked'][c]:.1f} ({100 * k['uniform'][c]:.1f})" for c in PICK_KINDS]
        print(f"| {name} | {k['scenes']} | " + ' | '.join(cells) + ' |')
    print('\nPicked - uniform (points, paired), 95% intervals over tasks:\n')
    print('| rule | true dependency | other scene | task seed |\n|---|---|---|---|')
    for name, mans in rows.items():
        print(f'| {name} | ' + ' | '.join(gain_intervals(mans)[:3]) + ' |')
    if a.pairs:
        scores = {f'{f.name}/{m}': r for f in a.folders for m, r in by_method(f).items()}
        print('\n| pair (paired by task) | dependency consistency (points) | adherence (points) |\n|---|---|---|')
        for pair in a.pairs.split(','):
            x, y = pair.split(':')
            print(f"| {x} - {y} | {paired(scores, x, y, 'dep_all')} | {paired(scores, x, y, 'adherence')} |")


if __name__ == '__main__':
    main()
