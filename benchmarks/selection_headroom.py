"""How much choosing among CoSeD's candidates can matter: the answer key's best pick against the selector's,
raw CLIP similarity's and a uniform pick, on the same finished candidates.

    msvid bench --suite toy --tasks 40 --seed S --methods cosed-exhaustive --save-candidates --out runs/S
    python benchmarks/selection_headroom.py runs/S --tasks 40 --seed S

Reads the runs of `cosed-exhaustive` (every candidate finished and saved). At every scene with a choice, each
candidate's dependency consistency is what `msvid bench` scores for a keyframe: over the scenes the step truly
depends on (the answer key) and the attributes it shares with them, the share the probe reads the same in the
candidate and in that scene's keyframe. Per choice:

- `oracle`: the best candidate by that score (the answer key read by the probe: a ceiling, never a method);
- `random`: the mean over the candidates (a uniform pick's expectation);
- `selector`: the run's own pick (the learned selector plus caption adherence, as `cosed` scores);
- `clip`: raw CLIP similarity to the depended-on scenes (text + image, as `clip-only` scores), plus the same
  caption adherence weight, recomputed here on the saved candidates.

Prints the mean [95% bootstrap interval over tasks] of each rule, the paired differences, and per attribute how
often each rule's pick keeps it. Earlier scenes are the run's own choices for every rule, so this measures the
headroom of each single choice, not of a whole run chosen by the oracle.
"""

from __future__ import annotations
import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from msvid.eval.bench import PERSISTENT, bootstrap_ci, interval_text, toy_suite
from msvid.eval.probe import load_probe, predict_attributes
from msvid.io.rundir import read_manifest

RULES = ('oracle', 'selector', 'clip', 'random')


def candidate_consistency(cands: list[dict], deps: list[dict], keys_per_dep: list[list[str]]) -> np.ndarray:
    "(C, A) matrix over candidates of 'keeps this (dependency, attribute)': 1, 0; one column per shared pair."
    cols = [(d, k) for d, keys in zip(deps, keys_per_dep) for k in keys]
    return np.array([[float(c[k] == d[k]) for d, k in cols] for c in cands]).reshape(len(cands), len(cols))


def clip_pick(clip, caption: str, images: list, past_captions: list[str], past_images: list, weight: float) -> int:
    "The candidate raw CLIP similarity (plus `weight` x adherence, both standardised) picks, as `clip-only` does."
    import torch
    from msvid.methods.cosed import with_adherence
    from msvid.methods.selector import clip_similarity_scores

    text, emb = clip.texts([caption])[0], clip.images(images)
    if not past_images:  # no scene to be consistent with: adherence alone, as `cosed` does
        return int(torch.argmax(emb @ text))
    past_t, past_i = clip.texts(past_captions), clip.images(past_images)
    score = with_adherence(clip_similarity_scores(text, emb, past_t, past_i), emb @ text, weight)
    return int(torch.argmax(score))


def task_choices(run: Path, task, probe, clip) -> list[dict]:
    "One record per scene with a choice: per rule, the kept shared attributes of its pick (attribute -> list)."
    m = read_manifest(run)
    gt = task.meta['toyworld']['steps']
    keyframes = [Image.open(run / s['keyframe']).convert('RGB') for s in m['scenes']]
    kf_attrs = predict_attributes(probe, keyframes)
    weight = m['config'].get('adherence_weight', 1.0)
    out = []
    for n, s in enumerate(m['scenes']):
        deps = gt[n]['depends_on']
        paths = sorted((run / f'scenes/{n + 1:02d}' / 'candidates').glob('[0-9][0-9].png'))
        if n == 0 or not deps or len(paths) < 2:
            continue
        ims = [Image.open(p).convert('RGB') for p in paths]
        keys = [[k for k in PERSISTENT if gt[n]['attributes'][k] == gt[d]['attributes'][k]] for d in deps]
        if not any(keys):
            continue
        cons = candidate_consistency(predict_attributes(probe, ims), [kf_attrs[d] for d in deps], keys)
        earlier = sorted(d for d in s['script']['depends_on'] if 0 <= d < n)  # `cosed`'s context: the script's deps
        picks = {
            'oracle': int(cons.mean(1).argmax()),
            'selector': int(s['chosen']),
            'clip': clip_pick(
                clip,
                s['script']['caption'],
                ims,
                [m['scenes'][j]['script']['caption'] for j in earlier],
                [keyframes[j] for j in earlier],
                weight,
            ),  # fmt: skip
        }
        names = [k for ks in keys for k in ks]
        rec = {r: cons[p] for r, p in picks.items()}
        rec['random'] = cons.mean(0)
        out.append({'names': names, **rec})
    return out


def per_task(choices: list[list[dict]], rule: str) -> list[float]:
    "Per task: the share of shared attributes the rule's picks keep (NaN for a task without a choice)."
    return [float(np.mean(np.concatenate([c[rule] for c in cs]))) if cs else float('nan') for cs in choices]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out', type=Path, help='the bench folder (its runs/cosed-exhaustive/NNNN)')
    ap.add_argument('--tasks', type=int, default=40)
    ap.add_argument('--seed', type=int, required=True, help='the suite seed the bench ran')
    ap.add_argument('--method', default='cosed-exhaustive')
    a = ap.parse_args()
    from msvid.models.encoders import load_clip

    probe, clip = load_probe(), load_clip('toy')
    tasks = toy_suite(a.tasks, a.seed)
    choices = [task_choices(a.out / 'runs' / a.method / f'{k:04d}', t, probe, clip) for k, t in enumerate(tasks)]
    n = sum(len(c) for c in choices)
    print(f'{a.method}, suite seed {a.seed}: {n} choices in {a.tasks} tasks; '
          f'mean [95% interval] over tasks of the share of shared attributes kept (%)\n')  # fmt: skip
    print('| rule | kept (%) | - random | - selector | - clip |\n|---|---|---|---|---|')
    vals = {r: np.array(per_task(choices, r)) for r in RULES}
    for r in RULES:
        diffs = [interval_text(*bootstrap_ci(list(vals[r] - vals[o])), 100, 1) if o != r else ''
                 for o in ('random', 'selector', 'clip')]  # fmt: skip
        print(f"| {r} | {interval_text(*bootstrap_ci(list(vals[r])), 100, 1)} | " + ' | '.join(diffs) + ' |')
    print('\nPer attribute, share of choices whose pick keeps it (%):\n')
    print('| attribute | n | ' + ' | '.join(RULES) + ' |\n' + '|---' * (len(RULES) + 2) + '|')
    for k in PERSISTENT:
        cells = {r: [] for r in RULES}
        for cs in choices:
            for c in cs:
                for j, name in enumerate(c['names']):
                    if name == k:
                        for r in RULES:
                            cells[r].append(c[r][j])
        if cells['oracle']:
            row = ' | '.join(f'{100 * np.mean(cells[r]):.1f}' for r in RULES)
            print(f"| {k} | {len(cells['oracle'])} | {row} |")


if __name__ == '__main__':
    main()
