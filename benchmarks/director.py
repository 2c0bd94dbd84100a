"""The toy director (VideoAuteur's interleaved director, `msvid/assets/toy-director`) on held-out toy tasks.
Prints a markdown table.

    python benchmarks/director.py [--tasks 40] [--seed 100000] [--ablation FOLDER] [--threads 1]

Each task is directed from its actions (step texts) alone, every step reading the director's own earlier
captions and states. Measures: caption exact match and word-position accuracy against the toy world's true
captions; mean cosine of the predicted z_t to the toy CLIP embedding of the true render, overall, at the first
step (whose colour the actions often do not state) and at later steps; next to two baselines without a model:
the mean training state, and the previous step's true state (an oracle; the mean at the first step). With
`--ablation FOLDER`, the same for a director trained without captions (actions -> states directly, table 6).
Seeds >= 100_000 are never trained on (the shipped director trains on seeds 0-1,999).
"""

from __future__ import annotations
import argparse, json, time

import torch
import torch.nn.functional as F

from msvid.eval.bench import bootstrap_ci, interval_text
from msvid.io.assets import shipped
from msvid.script.director import direct, load_director
from msvid.train.director import toy_director_data


def measure(folder, data, mean_z, captions=True) -> dict:
    "Mean cosines (all, first step, later steps), caption exact match and token accuracy, seconds per task."
    d, rows, per_task, t0 = load_director(folder), [], [], time.time()
    for x in data:
        out = direct(d, x['actions'], captions)
        cos = F.cosine_similarity(torch.stack([o[1] for o in out]), x['z'], dim=-1)
        per_task.append(cos.mean().item())
        prev = F.cosine_similarity(torch.cat([mean_z[None], x['z'][:-1]]), x['z'], dim=-1)
        mean = F.cosine_similarity(mean_z[None], x['z'], dim=-1)
        for i, (o, c) in enumerate(zip(out, x['captions'])):
            p, t = o[0].split(), c.split()
            acc = sum(a == b for a, b in zip(p, t)) / max(1, len(p), len(t))
            rows.append(dict(first=i == 0, cos=cos[i].item(), prev=prev[i].item(), mean=mean[i].item(),
                             exact=o[0] == c, acc=acc))  # fmt: skip
    avg = lambda k, sel=lambda r: True: sum(r[k] for r in rows if sel(r)) / max(1, sum(map(sel, rows)))  # noqa
    first, later = (lambda r: r['first']), (lambda r: not r['first'])
    return dict(
        steps=len(rows),
        cos=avg('cos'),
        per_task=per_task,
        cos_first=avg('cos', first),
        cos_later=avg('cos', later),
        prev=avg('prev'),
        prev_first=avg('prev', first),
        prev_later=avg('prev', later),
        mean=avg('mean'),
        exact=avg('exact'),
        acc=avg('acc'),
        s_task=(time.time() - t0) / len(data),
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tasks', type=int, default=40)
    ap.add_argument('--seed', type=int, default=100_000)
    ap.add_argument('--ablation', default=None)
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    data = toy_director_data(range(a.seed, a.seed + a.tasks))
    mean_z = torch.tensor(json.loads((shipped('toy-director') / 'mean_z.json').read_text()))
    runs = [('actions -> captions -> states (shipped)', shipped('toy-director'), True)]
    if a.ablation:
        runs.append(('actions -> states (ablation)', a.ablation, False))
    print(
        f"{a.tasks} held-out toy tasks (seeds {a.seed}-{a.seed + a.tasks - 1}), {sum(len(x['z']) for x in data)} steps\n"
    )
    print('| director | cos(z_pred, z_true) | task mean [95% CI] | first step | later steps | caption exact | '
          'token accuracy | s / task |')  # fmt: skip
    print('|---|---|---|---|---|---|---|---|')
    results = []
    for name, folder, caps in runs:
        r = measure(folder, data, mean_z, caps)
        results.append(r)
        ex = f"{r['exact']:.3f} | {r['acc']:.3f}" if caps else '- | -'
        print(f"| {name} | {r['cos']:.3f} | {ci(r['per_task'])} | {r['cos_first']:.3f} | {r['cos_later']:.3f} | {ex} | "
              f"{r['s_task']:.2f} |")  # fmt: skip
    print(f"| baseline: mean training state | {r['mean']:.3f} | | | | | | |")
    print(
        f"| baseline: previous step's true state (oracle) | {r['prev']:.3f} | | {r['prev_first']:.3f}* | {r['prev_later']:.3f} | | | |"
    )
    print('\n\\* the first step has no previous step: the mean training state stands in.')
    if len(results) == 2:
        diff = [x - y for x, y in zip(*(r['per_task'] for r in results))]
        print(f'\nPaired over tasks, chain - ablation: {ci(diff)} (bootstrap 95% interval of the mean task difference)')


def ci(xs) -> str:
    return interval_text(*bootstrap_ci(list(xs)))


if __name__ == '__main__':
    main()
