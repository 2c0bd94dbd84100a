"""Toy-world statistics: render speed on one core, non-linear dependency share, domain/action coverage.

Run: `python benchmarks/toyworld_stats.py [--tasks 500]`; prints markdown tables."""

import os

for v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ[v] = '1'
import argparse, collections, platform, random, time

import numpy as np
import torch

torch.set_num_threads(1)

from msvid.toy.actions import ACTION_NAMES
from msvid.toy.vocab import ATTRIBUTES, random_state
from msvid.toy.tasks import make_task, nonlinear_share
from msvid.toy.render import render, render_clip, render_masks, sample_pairs


def rate(fn, items, min_s=1.0):
    "Items per second of `fn` over `items` (repeated until `min_s` seconds)."
    n, t0 = 0, time.perf_counter()
    while True:
        for x in items:
            fn(x)
            n += 1
        if time.perf_counter() - t0 >= min_s:
            return n / (time.perf_counter() - t0)


def table(head, rows):
    print('| ' + ' | '.join(head) + ' |')
    print('|' + '---|' * len(head))
    for r in rows:
        print('| ' + ' | '.join(map(str, r)) + ' |')
    print()


def main(n_tasks=500):
    print(f"toy world statistics ({platform.machine()}, {platform.python_version()}, 1 thread)\n")
    rng = random.Random(0)
    states = [random_state(rng) for _ in range(300)]
    rows = [(f"render {s}x{s}", f"{rate(lambda st: render(st, s), states):.0f} images/s") for s in (64, 128, 256)]
    rows.append(("render_masks 64x64", f"{rate(lambda st: render_masks(st), states):.0f} images/s"))
    rows.append(
        ("render_clip 12 frames 64x64", f"{12 * rate(lambda st: render_clip(st, 12), states[:50]):.0f} frames/s")
    )
    rows.append(("make_task", f"{rate(make_task, range(300)):.0f} tasks/s"))
    t0 = time.perf_counter()
    sample_pairs(2000, 1)
    rows.append(("sample_pairs 64x64", f"{2000 / (time.perf_counter() - t0):.0f} pairs/s"))
    print("## Speed (one core)\n")
    table(("what", "speed"), rows)

    tasks = [make_task(s) for s in range(n_tasks)]
    rows = [
        (p, f"{nonlinear_share([make_task(s, nonlinear=p) for s in range(n_tasks)]):.3f}")
        for p in (0, 0.25, 0.5, 0.75, 0.9)
    ]
    print(
        f"## Non-linear share ({n_tasks} tasks per setting; steps with index >= 2 depending on a non-adjacent step)\n"
    )
    table(("nonlinear", "share"), rows)
    print(
        f"default setting: share {nonlinear_share(tasks):.3f}; steps per task mean {np.mean([len(t.steps) for t in tasks]):.2f}, "
        f"steps with any dependency {np.mean([bool(d) for t in tasks for d in t.depends_on]):.3f}\n"
    )

    dom = collections.Counter(t.domain for t in tasks)
    acts = collections.Counter(a for t in tasks for a in t.actions)
    print("## Coverage (default setting)\n")
    table(
        ("domain", "tasks", "steps"),
        [(d, dom[d], sum(len(t.steps) for t in tasks if t.domain == d)) for d in sorted(dom)],
    )
    table(("action", "steps"), [(a, acts.get(a, 0)) for a in ACTION_NAMES])
    for k in ATTRIBUTES:
        c = collections.Counter(a[k] for t in tasks for a in t.attributes)
        table((k, "steps"), [(v, c.get(v, 0)) for v in ATTRIBUTES[k]['values']])


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--tasks', type=int, default=500)
    main(ap.parse_args().tasks)
