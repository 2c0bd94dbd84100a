"""What a visual state can carry: how well each toy-world attribute can be read linearly from the toy CLIP image
embedding of a true render (the space the director's states live in and the state adapter reads).

A multinomial logistic regression per attribute (PyTorch, Adam, weak L2) is fitted on the embeddings of `--train`
toy renders (`msvid.toy.render.sample_pairs`, seed `--seed`) and scored on `--test` renders of another seed; the
majority class of the test set is the no-information baseline. An attribute the embedding does not carry cannot be
passed from one scene to the next through the state.

    python benchmarks/clip_attributes.py --train 2000 --test 1000
"""

import argparse, os, platform, time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from msvid.models.encoders import load_clip
from msvid.toy.render import sample_pairs
from msvid.toy.vocab import UNSTATED


def embed(clip, n: int, seed: int) -> tuple[torch.Tensor, list[dict]]:
    "Toy CLIP embeddings and ground-truth attributes of `n` toy renders."
    ims, _, attrs = sample_pairs(n, seed=seed)
    return clip.images([Image.fromarray(np.asarray(im)) for im in ims]), list(attrs)


def fit_readout(x: torch.Tensor, y: torch.Tensor, n_classes: int, steps: int = 300) -> Callable:
    "A logistic regression from embeddings to class indices, fitted on (x, y): embeddings -> predicted indices."
    w = torch.zeros(x.shape[1], n_classes, requires_grad=True)
    b = torch.zeros(n_classes, requires_grad=True)
    opt = torch.optim.Adam([w, b], 0.05)
    for _ in range(steps):
        opt.zero_grad()
        (F.cross_entropy(10 * x @ w + b, y) + 1e-4 * (w**2).sum()).backward()
        opt.step()
    w, b = w.detach(), b.detach()
    return lambda e: (10 * e.float() @ w + b).argmax(-1)


def linear_accuracy(x_tr, y_tr, x_te, y_te, steps: int = 300) -> float:
    "Test accuracy of a logistic regression from embeddings to class indices."
    read = fit_readout(x_tr, y_tr, int(max(y_tr.max(), y_te.max())) + 1, steps)
    return float((read(x_te) == y_te).float().mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--train', type=int, default=2000)
    ap.add_argument('--test', type=int, default=1000)
    ap.add_argument('--seed', type=int, default=5, help='training renders; the test renders use seed + 1')
    a = ap.parse_args()
    torch.set_num_threads(1)
    t0, clip = time.perf_counter(), load_clip('toy')
    (x_tr, a_tr), (x_te, a_te) = embed(clip, a.train, a.seed), embed(clip, a.test, a.seed + 1)
    print(f'toy CLIP image embeddings of {a.train} / {a.test} toy renders (seeds {a.seed} / {a.seed + 1}); '
          f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, '
          f'one torch thread\n')  # fmt: skip
    print('| attribute | stated in captions | classes | linear read-out accuracy | majority class |')
    print('|---|---|---|---|---|')
    for k in a_tr[0]:
        vals = sorted({str(x[k]) for x in a_tr + a_te})
        idx = {v: i for i, v in enumerate(vals)}
        y_tr, y_te = (torch.tensor([idx[str(x[k])] for x in xs]) for xs in (a_tr, a_te))
        if len(vals) < 2:
            continue
        acc = linear_accuracy(x_tr, y_tr, x_te, y_te)
        maj = float(torch.bincount(y_te).max()) / len(y_te)
        print(f"| {k} | {'no' if k in UNSTATED else 'yes'} | {len(vals)} | {acc:.2f} | {maj:.2f} |")
    print(f'\n{time.perf_counter() - t0:.0f} s')


if __name__ == '__main__':
    main()
