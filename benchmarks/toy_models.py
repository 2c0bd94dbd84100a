"""Quality bars of the toy models shipped in `msvid/assets` (toy-sd, toy-clip). Prints a markdown table.

    python benchmarks/toy_models.py [--n-captions 96] [--n-div 8] [--samples 16] [--threads 1]

Measures: shipped size; toy-CLIP text->image top-1 retrieval among 32 toy images (random scenes, and steps of
fresh tasks); agreement of the attribute probe with the stated attributes of fresh captions on images generated
with the toy preset's sampler, with seconds per image, next to the same agreement on the true renders and on
their VAE reconstructions (what the autoencoder alone lets through: the ceiling of any UNet); diversity of the
unstated attributes across fresh-noise samples of one caption. Seeds used here (>= 500_000) are never used in training.
"""

from __future__ import annotations
import argparse, math, random, time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

import msvid
from msvid.toy.vocab import ATTRIBUTES, STATED, UNSTATED
from msvid.toy.tasks import make_task
from msvid.toy.render import render, sample_pairs

ASSETS = Path(msvid.__file__).parent / 'assets'
PROBED = ('container', 'colour', 'background', 'contents')  # the bar's stated attributes


def size_mb(folder: Path, pattern: str = '*') -> float:
    "Megabytes (10**6 bytes) of the files under `folder` that match `pattern`."
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file()) / 1e6


def clip_retrieval(n_groups: int = 20, seed: int = 500_000) -> dict:
    "Top-1 text->image retrieval among 32 images: random scenes, and steps pooled from fresh tasks."
    from msvid.train.toy_clip import load_toy_clip, retrieval_top1

    model, _, tok = load_toy_clip()
    rnd = [retrieval_top1(model, tok, *sample_pairs(32, seed + g)[:2]) for g in range(n_groups)]
    pool_i, pool_c = [], []
    for s in range(seed, seed + 12 * n_groups):
        t = make_task(s)
        pool_i += [np.asarray(render(st)) for st in t.states]
        pool_c += t.captions
    rng = random.Random(seed)
    tasks = []
    for g in range(n_groups):
        idx = rng.sample(range(len(pool_c)), 32)
        tasks.append(retrieval_top1(model, tok, np.stack([pool_i[i] for i in idx]), [pool_c[i] for i in idx]))
    return dict(random=float(np.mean(rnd)), tasks=float(np.mean(tasks)))


def load_sd():
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(ASSETS / 'toy-sd', torch_dtype=torch.float32, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def generate(
    pipe, captions: list[str], seed: int, steps: int, guidance: float, batch: int = 16
) -> tuple[np.ndarray, float]:
    "Images for `captions` (one fresh noise each) and seconds per image."
    out, t0 = [], time.time()
    for i in range(0, len(captions), batch):
        g = torch.Generator().manual_seed(seed + i)
        out.append(
            pipe(
                captions[i : i + batch],
                num_inference_steps=steps,
                guidance_scale=guidance,
                generator=g,
                output_type='np',
            ).images
        )
    ims = (np.concatenate(out) * 255).round().astype(np.uint8)
    return ims, (time.time() - t0) / len(captions)


@torch.no_grad()
def reconstruct(vae, images: np.ndarray) -> np.ndarray:
    "uint8 images through the VAE and back (posterior means)."
    from msvid.train.toy_sd import images_to_tensor, tensor_to_images

    return tensor_to_images(vae.decode(vae.encode(images_to_tensor(images)).latent_dist.mean).sample)


def entropy(values: list[str], k: int) -> float:
    "Entropy of `values` normalised by log(k) (1 = uniform over k values)."
    c = np.array(list(Counter(values).values()), float)
    p = c / c.sum()
    return float(-(p * np.log(p)).sum() / math.log(k))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n-captions', type=int, default=96)
    ap.add_argument('--n-div', type=int, default=8, help='captions for the diversity measurement')
    ap.add_argument('--samples', type=int, default=16, help='fresh-noise samples per caption (diversity)')
    ap.add_argument('--steps', type=int, default=25)
    ap.add_argument('--guidance', type=float, default=5.0)
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from msvid.models.presets import PRESETS

    p = PRESETS['toy']
    sd, clip = (size_mb(ASSETS / m, '*.safetensors') for m in ('toy-sd', 'toy-clip'))
    rows = [
        ('shipped weights (safetensors) toy-sd + toy-clip', f'{sd:.1f} + {clip:.1f} = {sd + clip:.1f} MB', '<= 30 MB'),
        (
            'whole folders, with tokenizer and configs',
            f"{size_mb(ASSETS / 'toy-sd') + size_mb(ASSETS / 'toy-clip'):.1f} MB",
            '',
        ),
    ]
    r = clip_retrieval()
    rows += [
        ('toy CLIP text->image top-1 of 32 (random scenes, 20 groups)', f"{r['random']:.1%}", '>= 90%'),
        ('toy CLIP text->image top-1 of 32 (steps of fresh tasks, 20 groups)', f"{r['tasks']:.1%}", ''),
    ]

    if not (ASSETS / 'toy-sd' / 'model_index.json').exists() or not (ASSETS / 'probe' / 'model.safetensors').exists():
        rows.append(('diffusion bars', 'skipped: msvid/assets/toy-sd or msvid/assets/probe is not shipped yet', ''))
        return _print(rows)
    from msvid.eval.probe import load_probe, predict_attributes

    probe = load_probe()
    truth, caps, attrs = sample_pairs(a.n_captions, 600_000)
    ref = predict_attributes(probe, truth)
    pipe = load_sd()
    rec = predict_attributes(probe, reconstruct(pipe.vae, truth))
    ims, spi = generate(pipe, caps, 700_000, a.steps, a.guidance)
    pred = predict_attributes(probe, ims)
    per = {k: np.mean([pr[k] == at[k] for pr, at in zip(pred, attrs)]) for k in STATED}
    joint = np.mean([all(pr[k] == at[k] for k in PROBED) for pr, at in zip(pred, attrs)])
    ref_joint = np.mean([all(pr[k] == at[k] for k in PROBED) for pr, at in zip(ref, attrs)])
    agree = lambda p: np.mean([np.mean([x[k] == at[k] for x, at in zip(p, attrs)]) for k in PROBED])
    rows += [
        (
            f'probe agrees with caption, mean of {"/".join(PROBED)} ({a.n_captions} fresh captions)',
            f"{np.mean([per[k] for k in PROBED]):.1%}",
            '>= 80%',
        ),
        (
            'same agreement on the true renders / on their VAE reconstructions',
            f'{agree(ref):.1%} / {agree(rec):.1%}',
            '',
        ),
        (f'probe agrees on all four at once', f'{joint:.1%} (probe on true renders: {ref_joint:.1%})', ''),
        ('per stated attribute', ', '.join(f'{k} {v:.0%}' for k, v in per.items()), ''),
        (
            'sampler',
            f'DDIM {a.steps} steps, guidance {a.guidance}, batch 16, {a.threads} CPU thread(s) '
            f'(toy preset: {p.num_inference_steps} steps, guidance {p.guidance_scale})',
            '',
        ),
        ('seconds per image (64x64, CPU)', f'{spi:.3f}', ''),
    ]

    div_caps = [c for c in caps[: a.n_div]]
    ents, tops, gt_ents = {k: [] for k in UNSTATED}, {k: [] for k in UNSTATED}, {k: [] for k in UNSTATED}
    for j, c in enumerate(div_caps):
        ims, _ = generate(pipe, [c] * a.samples, 800_000 + 1000 * j, a.steps, a.guidance)
        pr = predict_attributes(probe, ims)
        for k in UNSTATED:
            vals = [x[k] for x in pr]
            n = len(ATTRIBUTES[k]['values'])
            ents[k].append(entropy(vals, n))
            tops[k].append(Counter(vals).most_common(1)[0][1] / len(vals))
    world = sample_pairs(a.samples * 50, 900_000)[2]
    rows.append(
        (
            f'unstated-attribute diversity over {a.samples} fresh-noise samples of one caption '
            f'(mean over {len(div_caps)} captions): normalised entropy / share of most common value',
            ', '.join(f'{k} {np.mean(ents[k]):.2f} / {np.mean(tops[k]):.0%}' for k in UNSTATED),
            'toy world: '
            + ', '.join(f"{k} {entropy([w[k] for w in world], len(ATTRIBUTES[k]['values'])):.2f}" for k in UNSTATED),
        )
    )
    _print(rows)


def _print(rows):
    print('| measure | value | bar / reference |\n| --- | --- | --- |')
    for r in rows:
        print('| ' + ' | '.join(r) + ' |')


if __name__ == '__main__':
    main()
