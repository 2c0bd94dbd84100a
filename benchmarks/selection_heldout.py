"""CoSeD's choice rule on a held-out toy suite (issue #31): `cosed` with its default rule against raw CLIP, a uniform
pick and the job-trained selector on the same candidates, and against `fixed-seed` and `independent`.

    S=97531
    msvid bench --suite toy --tasks 40 --seed $S --methods cosed,clip-only,random,fixed-seed,independent \\
        --out runs/held$S
    msvid bench --suite toy --tasks 40 --seed $S --methods cosed --consistency selector --out runs/held${S}_selector
    python benchmarks/selection_heldout.py runs/held$S runs/held${S}_selector [--pool runs/OTHER ...]

`--pool` adds the bars of `cosed` against `clip-only`, `fixed-seed` and `independent` over the tasks of this suite and
of other held-out bench folders together (each run once, after the choice).

Differences are paired by task (same task, same seeds, so the same candidates until the choices differ), 95%
percentile-bootstrap intervals over tasks; work is relative to `independent` in the same run.
"""

from __future__ import annotations
import argparse
from pathlib import Path

from flow_methods import by_method, mean, paired, ratio  # benchmarks/ is the script's folder
from msvid.eval.selection import choice_accuracy
from msvid.io.rundir import read_manifest

SELECTOR = 'cosed --consistency selector'


def bars(rows: dict) -> list[tuple[str, str]]:
    "The issue's bars for `cosed` (the shipped rule), as (what, value)."
    return [
        ('cosed dependency consistency (%)', mean(rows, 'cosed', 'dep_all')),
        ('cosed - clip-only (bar > 0)', paired(rows, 'cosed', 'clip-only', 'dep_all')),
        ('cosed - fixed-seed (bar > 0)', paired(rows, 'cosed', 'fixed-seed', 'dep_all')),
        ('cosed - random', paired(rows, 'cosed', 'random', 'dep_all')),
        (f'cosed - {SELECTOR}', paired(rows, 'cosed', SELECTOR, 'dep_all')),
        (f'{SELECTOR} - clip-only (what the learned selector adds over raw CLIP)',
         paired(rows, SELECTOR, 'clip-only', 'dep_all')),
        (f'{SELECTOR} - random (over chance)', paired(rows, SELECTOR, 'random', 'dep_all')),
        ('adherence: cosed - independent (bar >= -1)', paired(rows, 'cosed', 'independent', 'adherence')),
        ('latent-pixel work: cosed / independent (bar <= 1.5x)', ratio(rows, 'cosed', 'independent', 'latent_pixel_evals')),
        ('seconds: cosed / independent', ratio(rows, 'cosed', 'independent', 'seconds')),
    ]


def picks(folder: Path, method: str, n: int) -> dict:
    "`choice_accuracy` over the method's runs: picks from a true dependency against a uniform pick's share."
    return choice_accuracy([read_manifest(folder / 'runs' / method / f'{k:04d}') for k in range(n)])


def pooled(folders: list[Path]) -> dict:
    "method -> (folder, task) -> row, over the tasks of every folder."
    out = {}
    for f in folders:
        for m, rows in by_method(f).items():
            out.setdefault(m, {}).update({(str(f), t): r for t, r in rows.items()})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('main', type=Path, help='bench folder with cosed, clip-only, random, fixed-seed, independent')
    ap.add_argument('selector', type=Path, help='bench folder with cosed run with --consistency selector')
    ap.add_argument('--pool', type=Path, nargs='*', default=[], help='more held-out bench folders to pool with main')
    a = ap.parse_args()
    rows = by_method(a.main)
    rows[SELECTOR] = by_method(a.selector)['cosed']
    n = len(rows['cosed'])
    print(f'{n} tasks\n\n| bar | value |\n|---|---|')
    for what, value in bars(rows):
        print(f'| {what} | {value} |')
    print('\n| method | dep. consistency (%) | adherence (%) | latent-pixel evals / task |\n|---|---|---|---|')
    for m in rows:
        work = sum(r['latent_pixel_evals'] for r in rows[m].values()) / n
        print(f"| {m} | {mean(rows, m, 'dep_all')} | {mean(rows, m, 'adherence')} | {work:.0f} |")
    print('\nPicks from a true dependency, where the candidates came from both true and other sources:\n')
    print('| method | scenes | picked from a true dependency | a uniform pick |\n|---|---|---|---|')
    for m, folder, name in [('cosed', a.main, 'cosed'), ('cosed', a.selector, SELECTOR),
                            ('clip-only', a.main, 'clip-only'), ('random', a.main, 'random')]:  # fmt: skip
        acc = picks(folder, m, n)
        print(f"| {name} | {acc['scenes']} | {100 * acc['picked']:.1f}% | {100 * acc['random']:.1f}% |")
    if a.pool:
        rows = pooled([a.main, *a.pool])
        print(f"\nPooled over {len(rows['cosed'])} tasks ({', '.join(str(f) for f in [a.main, *a.pool])}):\n")
        print('| bar | value |\n|---|---|')
        for what, m, col in [('cosed - clip-only', 'clip-only', 'dep_all'), ('cosed - fixed-seed', 'fixed-seed', 'dep_all'),
                             ('adherence: cosed - independent', 'independent', 'adherence'),
                             ('adherence: cosed - clip-only', 'clip-only', 'adherence')]:  # fmt: skip
            print(f"| {what} | {paired(rows, 'cosed', m, col)} |")


if __name__ == '__main__':
    main()
