"""Where a director run's consistency is lost: in the visual states the director predicts, or in the keyframes the
state adapter draws from them.

For every run of `--method` in a finished `msvid bench --suite toy` folder, each toy-world attribute is read from
two embeddings per scene by linear read-outs fitted on the toy CLIP embeddings of true renders (`clip_attributes`,
`--train` renders of seed `--seed`): the director's predicted state (`latents.safetensors['state']`) and the toy
CLIP embedding of the keyframe drawn. Both are scored as the bench scores dependency consistency
(`msvid.eval.bench.probe_scores`): over the dependency pairs of the ground truth, the share of attributes that
should persist and read the same in both scenes. The true renders' score is the read-outs' own ceiling (what
perfect keyframes would score); the states' score is what a state adapter that drew exactly its state would reach;
the keyframes' score is what this adapter reaches.

    python benchmarks/state_consistency.py BENCH_FOLDER --method director
"""

import argparse, json, os, platform, time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from clip_attributes import embed, fit_readout
from msvid.eval.bench import PERSISTENT, bootstrap_ci, interval_text
from msvid.models.encoders import load_clip
from msvid.toy.render import render


def readouts(clip, n: int, seed: int) -> dict:
    "Per persistent attribute: (read-out, class names), fitted on `n` true renders."
    x, attrs = embed(clip, n, seed)
    out = {}
    for k in PERSISTENT:
        names = sorted({str(a[k]) for a in attrs})
        y = torch.tensor([names.index(str(a[k])) for a in attrs])
        out[k] = (fit_readout(x, y, len(names)), names)
    return out


def read(heads: dict, emb: torch.Tensor) -> list[dict]:
    "The attributes each row of `emb` reads as."
    cols = {k: [names[i] for i in f(emb).tolist()] for k, (f, names) in heads.items()}
    return [{k: cols[k][r] for k in cols} for r in range(len(emb))]


def run_pairs(run: Path, heads: dict, clip) -> dict[str, list[tuple[str, bool]]]:
    "For the run's states and keyframes: (attribute, reads the same) over the dependency pairs that should agree."
    gt = json.loads((run / 'manifest.json').read_text())['task']['meta']['toyworld']['steps']
    scenes = [run / 'scenes' / f'{i + 1:02d}' for i in range(len(gt))]
    states = torch.stack([load_file(str(s / 'latents.safetensors'))['state'] for s in scenes])
    keys = clip.images([Image.open(s / 'keyframe.png') for s in scenes])
    truth = clip.images([render(g['state']) for g in gt])
    reads = {src: read(heads, e) for src, e in (('true renders', truth), ('predicted states', states),
                                                 ('keyframes drawn', keys))}  # fmt: skip
    out = {src: [] for src in reads}
    for t, g in enumerate(gt):
        for d in g['depends_on']:
            for k in PERSISTENT:
                if g['attributes'][k] == gt[d]['attributes'][k]:
                    for src, r in reads.items():
                        out[src].append((k, r[t][k] == r[d][k]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('bench', help='a finished `msvid bench --suite toy` folder')
    ap.add_argument('--method', default='director')
    ap.add_argument('--train', type=int, default=3000, help='true renders the read-outs are fitted on')
    ap.add_argument('--seed', type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(1)
    t0, clip = time.perf_counter(), load_clip('toy')
    heads = readouts(clip, a.train, a.seed)
    runs = sorted(p for p in (Path(a.bench) / 'runs' / a.method).iterdir() if (p / 'manifest.json').is_file())
    per_run = [run_pairs(r, heads, clip) for r in runs]
    print(f'{a.method}: {len(runs)} runs of {a.bench}; read-outs fitted on {a.train} true renders (seed {a.seed}); '
          f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}\n')  # fmt: skip
    print('| read from | dependency consistency (%) | ' + ' | '.join(PERSISTENT) + ' |')
    print('|---|---|' + '---|' * len(PERSISTENT))
    for src in per_run[0]:
        task_means = [np.mean([s for _, s in r[src]]) for r in per_run if r[src]]
        flat = [x for r in per_run for x in r[src]]
        cells = [f'{np.mean([s for k2, s in flat if k2 == k]):.2f}' for k in PERSISTENT]
        print(
            f'| {src} | {interval_text(*bootstrap_ci(task_means), scale=100, digits=1)} | ' + ' | '.join(cells) + ' |'
        )
    print(f'\n{time.perf_counter() - t0:.0f} s')


if __name__ == '__main__':
    main()
