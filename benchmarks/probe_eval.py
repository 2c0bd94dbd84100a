"""Accuracy of the shipped attribute probe on fresh toy-world renders: clean, blurred (sigma 1, 2) and noisy
(Gaussian std 0.05, 0.1). Run: `python benchmarks/probe_eval.py [--n 2000] [--path DIR]`; prints a markdown table."""

import argparse, json, time

import torch

from msvid.eval.probe import add_noise, blur, evaluate_probe, load_probe, to_tensor
from msvid.toy.vocab import ATTRIBUTES
from msvid.toy.render import sample_pairs
from msvid.io.assets import shipped


def main(n=2000, path=None, seed=987654):
    probe = load_probe(path)
    imgs, _, attrs = sample_pairs(n, seed)
    x = to_tensor(imgs)
    g = torch.Generator().manual_seed(seed)
    conds = {
        'clean': x,
        'blur 1': blur(x, 1),
        'blur 2': blur(x, 2),
        'noise 0.05': add_noise(x, 0.05, g),
        'noise 0.1': add_noise(x, 0.1, g),
    }
    t0 = time.perf_counter()
    res = {k: evaluate_probe(probe, v, attrs) for k, v in conds.items()}
    dt = time.perf_counter() - t0
    cfg = json.loads(
        ((path and __import__('pathlib').Path(path)) or shipped('probe')).joinpath('config.json').read_text()
    )
    print(
        f"attribute probe on {n} fresh renders (seed {seed}); training: {cfg.get('training', {}).get('seconds')} s, "
        f"{cfg.get('training', {}).get('hardware')}; eval {len(conds) * n / dt:.0f} images/s\n"
    )
    print('| attribute | stated | values | ' + ' | '.join(conds) + ' |')
    print('|---|---|---|' + '---|' * len(conds))
    for k, v in ATTRIBUTES.items():
        print(
            f"| {k} | {'yes' if v['stated'] else 'no'} | {len(v['values'])} | "
            + ' | '.join(f"{res[c][k]:.4f}" for c in conds)
            + ' |'
        )
    print('| **min** | | | ' + ' | '.join(f"**{min(res[c].values()):.4f}**" for c in conds) + ' |')
    return res


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=2000)
    ap.add_argument('--path', default=None)
    a = ap.parse_args()
    main(a.n, a.path)
