"""The methods of one toy benchmark folder side by side, and the paired differences between the ones named.

    M=independent,fixed-seed,director,director-rolling,rolling-deps
    msvid bench --suite toy --tasks 40 --seed S --preset P --methods $M --out DIR
    python benchmarks/method_pairs.py DIR --pairs director:fixed-seed,director:independent,director-rolling:rolling-deps

Reads `DIR/results.csv` (one row per task and method). Means and differences are in points, with 95%
percentile-bootstrap intervals over tasks; differences are paired by task (the same task file and seeds). Work is
latent-pixel evaluations relative to `independent` in the same folder. Prints markdown tables.
"""

from __future__ import annotations
import argparse, math
from pathlib import Path

from flow_methods import by_method  # benchmarks/ is the script's folder
from msvid.eval.bench import bootstrap_ci, interval_text

COLUMNS = {'adherence': 'adherence (%)', 'dep_all': 'dependency consistency (%)',
           'dep_unstated': 'unstated attributes (%)'}  # fmt: skip


def interval(xs: list[float]) -> str:
    "Mean [95% interval] of the finite `xs`, in points."
    xs = [x for x in xs if not math.isnan(x)]
    return interval_text(*bootstrap_ci(xs), 100, 1) if xs else '-'


def method_table(rows: dict) -> list[str]:
    "A line per method: each column's mean and the work against `independent`."
    base = sum(r['latent_pixel_evals'] for r in rows['independent'].values()) if 'independent' in rows else math.nan
    out = ['| method | tasks | ' + ' | '.join(COLUMNS.values()) + ' | latent px vs independent |',
           '|---|---|' + '---|' * (len(COLUMNS) + 1)]  # fmt: skip
    for m, tasks in rows.items():
        cells = [interval([t[c] for t in tasks.values()]) for c in COLUMNS]
        work = sum(t['latent_pixel_evals'] for t in tasks.values()) / base
        out.append(f"| {m} | {len(tasks)} | {' | '.join(cells)} | {work:.2f}x |")
    return out


def pair_table(rows: dict, pairs: list[tuple[str, str]]) -> list[str]:
    "A line per pair `a - b`: the paired difference in each column over their common tasks."
    out = ['| pair | ' + ' | '.join(COLUMNS.values()) + ' |', '|---|' + '---|' * len(COLUMNS)]
    for a, b in pairs:
        tasks = sorted(set(rows[a]) & set(rows[b]))
        cells = [interval([rows[a][t][c] - rows[b][t][c] for t in tasks]) for c in COLUMNS]
        out.append(f"| `{a}` - `{b}` | {' | '.join(cells)} |")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('folder', type=Path, help='a `msvid bench` output folder (its results.csv)')
    ap.add_argument('--pairs', default='', help='A:B,... : the paired differences A - B to print')
    a = ap.parse_args()
    rows = by_method(a.folder)
    pairs = [tuple(p.split(':')) for p in a.pairs.split(',') if p]
    unknown = {m for p in pairs for m in p} - set(rows)
    if unknown or any(len(p) != 2 for p in pairs):
        ap.error(f"--pairs: expected A:B of the folder's methods ({', '.join(rows)}); unknown: {sorted(unknown)}")
    print('\n'.join(method_table(rows)))
    if pairs:
        print('\n' + '\n'.join(pair_table(rows, pairs)))


if __name__ == '__main__':
    main()
