"""Which rule should pick among CoSeD's candidates: tuning evidence on `cosed`'s own candidate sets (issue #31, item 3).

    msvid bench --suite toy --tasks 80 --seed S --methods cosed --keep 7 --save-candidates --out runs/judgeS
    python benchmarks/selection_rules.py runs/judge5150:5150 runs/judge6161:6161 --tasks 80

Every candidate of those runs is saved as it was scored (the x0 preview after `select_at` steps) and finished. Each
rule scores the previews, as `cosed` does at `select_at`; what its pick is worth is read on the finished candidate:
the share of depended-on attributes it keeps (`msvid.eval.bench.kept_shares`, the probe against the answer key)
and its caption adherence (the probe's reading of the stated attributes). Rules, each plus `w` x caption adherence
(CLIP, both standardised over the candidates, as `cosed` combines them):

- `oracle` (the answer key: a ceiling) and `random` (a uniform pick's expectation);
- `clip`: raw CLIP similarity to the context scenes (`clip-only`'s rule);
- `selector`: the shipped contrastive selector (eq. 7);
- `selector, job-trained`: the shipped selector fine-tuned on these candidate sets (`finetune_on_candidates`),
  4-fold cross-validated by task, so that every set is scored by a selector that never saw its task;
- `layout S`: colour-thumbnail similarity at S x S pixels to the context scenes' keyframes (`layout_scores`).

Prints mean [95% bootstrap interval over tasks], and each rule's paired difference from `clip`.
"""

from __future__ import annotations
import argparse
import copy
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from msvid.eval.bench import bootstrap_ci, interval_text, toy_suite
from msvid.eval.probe import load_probe, predict_attributes
from msvid.eval.bench import kept_shares
from msvid.io.assets import asset_path
from msvid.methods.cosed import standardised
from msvid.methods.selector import ContrastiveSelector, clip_similarity_scores, layout_scores
from msvid.models.encoders import load_clip
from msvid.toy.vocab import STATED
from msvid.train.selector import CandidateSet, finetune_on_candidates

WEIGHTS = (0.0, 0.5, 1.0)  # caption adherence weights tried


@dataclass
class Choice:
    "One scene's candidates: previews, what each finished candidate keeps and adheres to, and its context."

    task: str
    previews: list[Image.Image]
    kept: np.ndarray  # (C,)
    adherence: np.ndarray  # (C,)
    past: list[Image.Image]  # context keyframes
    cands: CandidateSet  # the CLIP embeddings (previews, caption, context)


def run_choices(run: Path, truth: list[dict], name: str, clip, probe) -> list[Choice]:
    "The scenes of one run with a context, a dependency and candidates that do not all keep as much."
    m = json.loads((run / 'manifest.json').read_text())
    keyframes = [Image.open(run / s['keyframe']).convert('RGB') for s in m['scenes']]
    key_attrs = predict_attributes(probe, keyframes)
    out = []
    for i, s in enumerate(m['scenes']):
        context = sorted(d for d in s['script']['depends_on'] if 0 <= d < i)
        folder = run / f'scenes/{i + 1:02d}/candidates'
        scored = sorted(folder.glob('[0-9][0-9].png'))
        if not context or len(scored) < 2:
            continue
        finished = predict_attributes(probe, [Image.open(p.with_name(f'{p.stem}-final.png')) for p in scored])
        kept = kept_shares(truth, i, finished, key_attrs)
        if kept is None or kept.min() == kept.max():
            continue
        adherence = np.array([np.mean([c[k] == truth[i]['attributes'][k] for k in STATED]) for c in finished])
        previews, past = [Image.open(p).convert('RGB') for p in scored], [keyframes[d] for d in context]
        text = clip.texts([s['script']['caption']])[0]
        past_text = clip.texts([m['scenes'][d]['script']['caption'] for d in context])
        cands = CandidateSet(past_text, clip.images(past), text, clip.images(previews), torch.from_numpy(kept).float())
        out.append(Choice(name, previews, kept, adherence, past, cands))
    return out


def consistency_rules(choices: list[Choice], selector: ContrastiveSelector, folds: int = 4) -> dict[str, list]:
    "Per rule, the consistency score (C,) of every choice (the job-trained selector cross-validated by task)."
    c = [x.cands for x in choices]
    with torch.no_grad():
        rules = {
            'clip': [clip_similarity_scores(s.text, s.images, s.past_text, s.past_image) for s in c],
            'selector': [selector(s.text, s.images, s.past_text, s.past_image) for s in c],
        }
    tasks = sorted({x.task for x in choices})
    fold = {t: k % folds for k, t in enumerate(tasks)}
    job = [None] * len(choices)
    for f in range(folds):
        tuned = copy.deepcopy(selector)
        finetune_on_candidates(tuned, [s for x, s in zip(choices, c) if fold[x.task] != f], epochs=40, val_fraction=0.1)
        with torch.no_grad():
            for j, (x, s) in enumerate(zip(choices, c)):
                if fold[x.task] == f:
                    job[j] = tuned(s.text, s.images, s.past_text, s.past_image)
    rules['selector, job-trained'] = job
    for side in (4, 8, 16):
        rules[f'layout {side}'] = [layout_scores(x.previews, x.past, side) for x in choices]
    return rules


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('runs', nargs='+', help='FOLDER:SEED, a bench folder of cosed runs and its suite seed')
    ap.add_argument('--tasks', type=int, default=80)
    a = ap.parse_args()
    torch.manual_seed(0)
    clip, probe = load_clip('toy'), load_probe()
    choices = []
    for spec in a.runs:
        folder, seed = spec.rsplit(':', 1)
        for k, t in enumerate(toy_suite(a.tasks, int(seed))):
            run = Path(folder) / 'runs' / 'cosed' / f'{k:04d}'
            choices += run_choices(run, t.meta['toyworld']['steps'], f'{seed}/{k}', clip, probe)
    selector = ContrastiveSelector.from_pretrained(asset_path('msvid:toy-selector'))
    rules = consistency_rules(choices, selector)
    adh = [x.cands.images @ x.cands.text for x in choices]
    picks = {'oracle': [int(x.kept.argmax()) for x in choices]}
    for name, scores in rules.items():
        for w in WEIGHTS:
            picks[f'{name}, w={w}'] = [int((standardised(s) + w * standardised(d)).argmax()) for s, d in zip(scores, adh)]
    n_tasks = len({x.task for x in choices})
    print(f'{len(choices)} choices in {n_tasks} tasks; mean [95% interval] over tasks (%)\n')
    print('| rule | kept | adherence | kept - clip (w=0.5) |\n|---|---|---|---|')
    rows = [('random', [x.kept.mean() for x in choices], [x.adherence.mean() for x in choices])]
    for name, p in picks.items():
        rows.append((name, [x.kept[j] for x, j in zip(choices, p)], [x.adherence[j] for x, j in zip(choices, p)]))
    base = np.array(_task_means(choices, [x.kept[j] for x, j in zip(choices, picks['clip, w=0.5'])]))
    for name, kept, adherence in rows:
        k, d = _task_means(choices, kept), _task_means(choices, adherence)
        diff = interval_text(*bootstrap_ci(list(np.array(k) - base)), 100, 1)
        print(f'| {name} | {interval_text(*bootstrap_ci(k), 100, 1)} | {interval_text(*bootstrap_ci(d), 100, 1)} | {diff} |')


def _task_means(choices: list[Choice], values: list[float]) -> list[float]:
    "Per task, the mean of `values` over its choices (tasks in first-seen order, as `per_task`)."
    by = {}
    for x, v in zip(choices, values):
        by.setdefault(x.task, []).append(v)
    return [float(np.mean(v)) for v in by.values()]


if __name__ == '__main__':
    main()
