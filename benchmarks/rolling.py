"""Rolling-context keyframes (VideoAuteur sec. 4.2) on the toy world: dependency consistency and caption adherence.

Compares `independent`, `rolling` (last k keyframes) and `rolling-deps` (the scenes the script says a step
depends on), plus variants (context length, canvas shape, tiled vs. target-only prompt, entity references), on
the same tasks and seeds, scored by the attribute probe (msvid.eval.bench). Prints a markdown table.

    python benchmarks/rolling.py --n-tasks 20 --out /tmp/bench-rolling
    python benchmarks/rolling.py --methods independent rolling-deps rolling-deps-target --n-tasks 8
"""

from __future__ import annotations
import argparse, json, time
from pathlib import Path

import torch

from msvid.eval.bench import toy_suite, run_bench, summarize, results_markdown, write_results
from msvid.models.presets import resolve_config
from msvid.eval.probe import load_probe
import msvid.methods.rolling as rolling

VARIANTS = {  # name: (context mode, fixed settings)
    'rolling-target': ('last', dict(canvas_prompt='target')),
    'rolling-deps-target': ('deps', dict(canvas_prompt='target')),
    'rolling-deps-1': ('deps', dict(context_length=1)),
    'rolling-deps-grid': ('deps', dict(canvas='grid')),
    'rolling-deps-fresh': ('deps', dict(rolling_start='fresh')),
    'rolling-deps-fresh-target': ('deps', dict(rolling_start='fresh', canvas_prompt='target')),
}


def register_variants():
    for name, (mode, kw) in VARIANTS.items():
        rolling.register_rolling_variant(name, mode, **kw)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n-tasks', type=int, default=20)
    ap.add_argument('--seed', type=int, default=12345, help='suite seed')
    ap.add_argument('--nonlinear', type=float, default=0.5, help='toy tasks: chance of returning to an older container')
    ap.add_argument('--methods', nargs='+', default=['independent', 'rolling', 'rolling-deps', 'rolling-deps-target'])
    ap.add_argument('--steps', type=int, default=None, help='denoising steps (default: the preset)')
    ap.add_argument('--out', default='/tmp/msvid-bench-rolling')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--probe', default=None, help='attribute probe folder (default: the shipped msvid/assets/probe)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    register_variants()
    tasks = toy_suite(a.n_tasks, a.seed, nonlinear=a.nonlinear)
    cfg = resolve_config(device='cpu', quiet=True, num_inference_steps=a.steps)
    t0 = time.time()
    rows = run_bench(tasks, a.methods, a.out, cfg, probe=load_probe(a.probe), quiet=True)
    md = write_results(rows, a.out, len(tasks))
    print(
        f"toy preset, {cfg.num_inference_steps} steps, suite seed {a.seed}, nonlinear {a.nonlinear}, "
        f"probe {a.probe or 'shipped'}; {time.time() - t0:.0f} s\n"
    )
    print(md)


if __name__ == '__main__':
    main()
