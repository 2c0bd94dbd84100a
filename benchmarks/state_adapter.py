"""Visual-state conditioning on the toy preset: does VideoAuteur's noisy-condition regularisation (sec. 4.3.2, eq. 8)
make the keyframe follow the director's *predicted* states better?

For each held-out toy task (a fresh suite seed, never used in training or tuning) the shipped toy director directs
the task from its actions alone (`msvid.script.director.direct`), giving a predicted state z_pred per step; z_true is
the toy CLIP embedding of the step's true render. Every step is then drawn by the toy model from its ground-truth
caption and the same seeded noise (`--noise`: the task seed's for every step, as the `director` method does by
default, or each step's own), in five ways (the adapter at msvid's `state_scale`): text only, and through each
adapter (trained with eq. 8, the shipped `msvid:toy-ip-adapter`, and without it, `--noreg FOLDER`) from z_pred and
from z_true. Measured on every keyframe:

- **cos to the true render**: toy CLIP cosine between the keyframe and the step's true render (what the step should
  look like);
- **probe**: the toy-world probe's caption adherence and dependency consistency (`msvid.eval.bench.probe_scores`,
  the numbers of the method table), and how often it reads each attribute the caption does not state (background
  colour, texture, position, size) as the true render has it: what only the state can carry;

with 95% bootstrap intervals over tasks, and the paired difference regularised - not, per task.

    python benchmarks/state_adapter.py --tasks 40 --seed 66666 --noreg /tmp/toy-ip-adapter-noreg
    python benchmarks/state_adapter.py --tasks 40 --seed 55555 --noreg /tmp/toy-ip-adapter-noreg --noise scene
    python benchmarks/state_adapter.py --tasks 40 --seed 24680 --preset toy-flow

`--preset toy-flow` measures the toy flow model with its own shipped adapter (`msvid:toy-flow-ip-adapter`, SD3's
layout); without `--noreg` only the shipped adapter is drawn through.
"""

import argparse, os, platform, time

import numpy as np
import torch

from msvid.core.config import RunConfig
from msvid.core.seeds import derive_seed, seeded_noise
from msvid.eval.bench import bootstrap_ci, interval_text, probe_scores, toy_suite
from msvid.eval.probe import load_probe, predict_attributes
from msvid.methods.director import DIRECTOR_NOISES
from msvid.methods.state_adapter import load_state_adapter, state_conditioning, state_kwargs
from msvid.models.encoders import load_clip
from msvid.models.pipelines import pipeline_for
from msvid.models.presets import resolve_config
from msvid.models.families.registry import family_of
from msvid.script.director import direct, load_director
from msvid.toy.render import render
from msvid.toy.tasks import make_task
from msvid.toy.vocab import UNSTATED


def draw(pipe, captions: list[str], seeds: list[int], states=None, steps: int = 25, guidance: float = 5.0):
    "One keyframe per caption from its seeded noise, with `states[i]` through the loaded adapter when given."
    fam, out = family_of(pipe), []
    for i, (cap, s) in enumerate(zip(captions, seeds)):
        kw = state_kwargs(states[i], pipe, guidance, fam.state_adapter) if states is not None else {}
        out += fam.text_to_image([cap], seeded_noise(fam.latent_shape(64, 64), [s]), steps, guidance, 64, 64, **kw)
    return out


def ci(xs) -> str:
    return interval_text(*bootstrap_ci(list(xs)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--tasks', type=int, default=40)
    ap.add_argument('--seed', type=int, default=55555, help='toy suite seed (fresh: not used in training or tuning)')
    ap.add_argument('--preset', default='toy', choices=('toy', 'toy-flow'), help='toy model and its shipped adapter')
    ap.add_argument('--noreg', help='folder of the adapter trained without eq. 8 (default: none drawn)')
    ap.add_argument('--reg', help="the adapter trained with eq. 8 (default: the preset's shipped one)")
    ap.add_argument('--scale', type=float, default=RunConfig().state_scale, help="adapter scale (default: msvid's)")
    ap.add_argument('--min-noise', type=float, help="the adapter acts above this noise level (default: its own)")
    ap.add_argument('--noise', default=RunConfig().director_noise, choices=DIRECTOR_NOISES, help="starting noise")
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    cfg = resolve_config(a.preset, 'cpu', quiet=True)
    pipe = pipeline_for(cfg)
    fam = family_of(pipe)
    clip, probe, d = load_clip('toy'), load_probe(), load_director('toy')
    load = lambda spec: load_state_adapter(spec, fam.denoiser, fam.state_adapter)
    adapters = {'with eq. 8': load(a.reg or cfg.state_adapter)} | ({'without': load(a.noreg)} if a.noreg else {})
    rows = {}  # variant -> per-task dicts
    for k, task in enumerate(toy_suite(a.tasks, seed=a.seed)):
        gt = task.meta['toyworld']['steps']
        caps = [g['caption'] for g in gt]
        truth = clip.images([render(st) for st in make_task(a.seed * 1000 + k).states])  # as `toy_suite` made it
        z_pred = torch.stack([z for _, z in direct(d, [s.text for s in task.steps])])
        seeds = [derive_seed(task.seed or 0, 0 if a.noise == 'task' else i) for i in range(len(gt))]
        variants = {'text only': (None, None)}
        for name in adapters:
            variants[f'{name}, predicted states'] = (name, z_pred)
            variants[f'{name}, true states'] = (name, truth)
        for v, (name, states) in variants.items():
            if name is None:
                keys = draw(pipe, caps, seeds)
            else:
                weights, info = adapters[name]
                floor = info['min_noise'] if a.min_noise is None else a.min_noise
                with state_conditioning(pipe, weights, a.scale, floor):
                    keys = draw(pipe, caps, seeds, states)
            cos = (clip.images(keys) * truth).sum(-1)
            read = predict_attributes(probe, keys)
            unstated = {u: float(np.mean([r[u] == g['attributes'][u] for r, g in zip(read, gt)])) for u in UNSTATED}
            rows.setdefault(v, []).append(dict(cos=float(cos.mean()), **unstated, **probe_scores(task, keys, probe)))
    print(f'{a.preset} preset, {a.tasks} held-out toy tasks (suite seed {a.seed}), ground-truth captions, 25 steps, '
          'guidance 5, '
          f"adapter scale {a.scale}, min noise {'its own' if a.min_noise is None else a.min_noise}, {a.noise} noise; "
          f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load '
          f'{os.getloadavg()[0]:.1f}, torch threads {a.threads}; {time.perf_counter() - t0:.0f} s in all\n')  # fmt: skip
    print('| keyframe drawn from | cos to the true render | adherence | dependency consistency | '
          + ' | '.join(f'{u} as true' for u in UNSTATED) + ' |')  # fmt: skip
    print('|---|---|---|---|' + '---|' * len(UNSTATED))
    for v, rs in rows.items():
        cells = [ci(r[k] for r in rs) for k in ('cos', 'adherence', 'dep_all')]
        cells += [f'{np.mean([r[u] for r in rs]):.2f}' for u in UNSTATED]
        print(f"| {v} | {' | '.join(cells)} |")
    print('\nPaired, per task: with eq. 8 - without' if a.noreg else '\nPaired, per task: adapter - text only')
    for states in ('predicted states', 'true states'):
        if not a.noreg:
            w, t = rows[f'with eq. 8, {states}'], rows['text only']
            print(f"- {states}: cos {ci(x['cos'] - y['cos'] for x, y in zip(w, t))}, "
                  f"consistency {ci(x['dep_all'] - y['dep_all'] for x, y in zip(w, t))}")
            continue
        w, wo = rows[f'with eq. 8, {states}'], rows[f'without, {states}']
        diff = lambda k: ci(x[k] - y[k] for x, y in zip(w, wo))
        print(f"- {states}: cos {diff('cos')}, adherence {diff('adherence')}, consistency {diff('dep_all')}")


if __name__ == '__main__':
    main()
