"""Agreement on the held-out real tasks: a second labeller against the first, and the offline tracker against both.

    python benchmarks/label_agreement.py [--threads 1]

`second_labels/` holds the held-out tasks labelled a second time by `real_tasks_styles/RULE.md` alone (its README
says by whom and how). Arrow precision, recall and F1 are counted as in `script_accuracy.py` (the first labeller as
the reference), with 95% bootstrap intervals over tasks; the gap between the second labeller and the tracker is
paired (the same resampled tasks for both).
"""

from __future__ import annotations
import argparse, json
from pathlib import Path

import numpy as np
import torch

from msvid.io.taskfile import load_task
from msvid.script.arrows import tracked_arrows
from script_accuracy import STYLES_HELD_OUT, _f1, f1_interval  # benchmarks/ is the script's folder

HERE = Path(__file__).parent
SETS = {'fresh real tasks (30 files)': 'real_tasks_fresh', 'new styles, held-out (26 files)': 'real_tasks_styles'}


def counts(pred: list, ref: list) -> list[int]:
    "True positives, false positives and false negatives of the arrows `pred` against `ref` (one list per step)."
    return [sum(len(set(p) & set(r)) for p, r in zip(pred, ref)), sum(len(set(p) - set(r)) for p, r in zip(pred, ref)),
            sum(len(set(r) - set(p)) for p, r in zip(pred, ref))]  # fmt: skip


def tracker_arrows(path: Path) -> list[list[int]]:
    "The offline tracker's `depends_on` for the task file at `path`."
    return [sorted(a) for a in tracked_arrows(load_task(path))]


def set_arrows(folder: str) -> dict[str, list]:
    "Per labelled file: the first labels, the second labels and the tracker's arrows."
    files = sorted((HERE / 'second_labels' / folder).glob('*.json'))
    if folder == 'real_tasks_styles':
        assert sorted(f.name for f in files) == sorted(STYLES_HELD_OUT), 'second labels cover the held-out half'
    first = [json.loads((HERE / folder / f.name).read_text())['meta']['depends_on'] for f in files]
    second = [json.loads(f.read_text())['depends_on'] for f in files]
    return dict(first=first, second=second, tracker=[tracker_arrows(HERE / folder / f.name) for f in files])


def row(name: str, c: list) -> str:
    tp, fp, fn = np.asarray(c).sum(0)
    lo, hi = f1_interval(c)
    return f'| {name} | {tp / (tp + fp):.1%} | {tp / (tp + fn):.1%} | {_f1(tp, fp, fn):.3f} [{lo:.3f}, {hi:.3f}] |'


def paired_gap(a: list, b: list, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    "F1 of counts `a` minus F1 of counts `b`, with a 95% bootstrap interval resampling the same tasks for both."
    a, b = np.asarray(a, float), np.asarray(b, float)
    idx = np.random.default_rng(seed).integers(0, len(a), (n, len(a)))
    gaps = sorted(_f1(*a[k].sum(0)) - _f1(*b[k].sum(0)) for k in idx)
    return _f1(*a.sum(0)) - _f1(*b.sum(0)), gaps[int(0.025 * n)], gaps[int(0.975 * n) - 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    torch.set_num_threads(ap.parse_args().threads)
    for name, folder in SETS.items():
        a = set_arrows(folder)
        pairs = {
            'second labeller vs first': [counts(s, f) for s, f in zip(a['second'], a['first'])],
            'offline tracker vs first': [counts(t, f) for t, f in zip(a['tracker'], a['first'])],
            'offline tracker vs second labeller': [counts(t, s) for t, s in zip(a['tracker'], a['second'])],
        }
        print(f'\n{name}, {sum(map(len, a["first"]))} steps\n')
        print('| labels | arrow precision | arrow recall | arrow F1 |\n|---|---|---|---|')
        print('\n'.join(row(k, c) for k, c in pairs.items()))
        gap = paired_gap(pairs['second labeller vs first'], pairs['offline tracker vs first'])
        print('\nsecond labeller - offline tracker (F1 against the first labels, paired by task): '
              '{:+.3f} [{:+.3f}, {:+.3f}]'.format(*gap))  # fmt: skip


if __name__ == '__main__':
    main()
