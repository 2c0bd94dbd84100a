"""The toy flow-matching model against the toy UNet: attribute-probe agreement with the captions, paired by caption.

    python benchmarks/toy_flow.py [--n-captions 96] [--threads 1]          # held-out: both toy presets as shipped
    python benchmarks/toy_flow.py --tune --guidance 3,5,7 --steps 25,50 --n-captions 48  # tuning prompts: settings
    python benchmarks/toy_flow.py --tune --model FOLDER --n-captions 192    # a retrained toy-flow on them

Both models draw the same captions from the same starting noise, through msvid's own path (`resolve_config`,
`pipeline_for`, the family's `text_to_image`), so each preset's settings (steps, guidance, `max_sequence_length`)
apply. The held-out captions (seed 600_000) are `toy_models.py`'s, where the toy UNet's 82% was measured; the
tuning captions (seed 650_000) are the only ones any setting was chosen on. Agreement is the mean over container,
colour, background and contents of "the probe reads the stated value"; intervals are 95% bootstraps over captions,
and the difference is paired (same caption, same noise).
"""

from __future__ import annotations
import argparse, os, time

import numpy as np
import torch

from msvid.core.seeds import seeded_noise
from msvid.eval.bench import bootstrap_ci, interval_text
from msvid.eval.probe import load_probe, predict_attributes
from msvid.models.families.registry import family_of
from msvid.models.pipelines import pipeline_for
from msvid.models.presets import resolve_config
from msvid.toy.render import sample_pairs

PROBED = ('container', 'colour', 'background', 'contents')
HELD_OUT, TUNING = 600_000, 650_000


def images(config, captions: list[str], batch: int = 16) -> tuple[np.ndarray, float]:
    "uint8 images of `captions` (noise seed 700_000 + index) drawn as `config` says, and seconds per image."
    fam = family_of(pipeline_for(config))
    out, t0 = [], time.time()
    for s in range(0, len(captions), batch):
        caps = captions[s : s + batch]
        lat = seeded_noise(fam.latent_shape(config.height, config.width), [700_000 + s + i for i in range(len(caps))])
        out += fam.text_to_image(caps, lat, config.num_inference_steps, config.guidance_scale, config.height,
                                 config.width)  # fmt: skip
    return np.stack([np.asarray(im) for im in out]), (time.time() - t0) / len(captions)


def agreement(probe, ims: np.ndarray, attrs: list[dict]) -> np.ndarray:
    "Per image: the share of the probed attributes the probe reads as stated."
    pred = predict_attributes(probe, ims)
    return np.array([np.mean([p[k] == a[k] for k in PROBED]) for p, a in zip(pred, attrs)])


def per_attribute(probe, ims: np.ndarray, attrs: list[dict]) -> str:
    pred = predict_attributes(probe, ims)
    return ', '.join(f'{k} {np.mean([p[k] == a[k] for p, a in zip(pred, attrs)]):.0%}' for k in PROBED)


def tune(probe, caps: list[str], attrs: list[dict], guidances: list[float], steps: list[int], model: str = ''):
    """The tuning table: toy-flow at each (steps, guidance), paired with the toy UNet preset on the same captions;
    with `model` (a retrained toy-flow folder), that model, also paired with the shipped toy-flow."""
    toy = agreement(probe, images(resolve_config('toy', 'cpu', quiet=True), caps)[0], attrs)
    print(f'toy UNet preset as shipped: {interval_text(*bootstrap_ci(list(toy)), 100, 1)}\n')
    extra = ' - shipped toy-flow (paired) |' if model else ''
    print(f'| toy-flow steps | guidance | probe agreement (%) | - toy (paired) |{extra} per attribute | s / image |')
    print('|---|---|---|---|' + '---|' * bool(model) + '---|---|')
    for n in steps:
        for g in guidances:
            run = lambda m: images(resolve_config('toy-flow', 'cpu', model=m, num_inference_steps=n, guidance_scale=g,
                                                  quiet=True), caps)  # fmt: skip
            ims, spi = run(model or None)
            ag = agreement(probe, ims, attrs)
            vs = ''
            if model:
                shipped = agreement(probe, run(None)[0], attrs)
                vs = f' {interval_text(*bootstrap_ci(list(ag - shipped)), 100, 1)} |'
            print(f'| {n} | {g:g} | {interval_text(*bootstrap_ci(list(ag)), 100, 1)} | '
                  f'{interval_text(*bootstrap_ci(list(ag - toy)), 100, 1)} |{vs} '
                  f'{per_attribute(probe, ims, attrs)} | {spi:.3f} |')  # fmt: skip


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n-captions', type=int, default=96)
    ap.add_argument('--tune', action='store_true', help='the tuning captions, toy-flow at each --steps and --guidance')
    ap.add_argument('--guidance', default='5', help='comma-separated guidance scales for --tune')
    ap.add_argument('--steps', default='25', help='comma-separated step counts for --tune')
    ap.add_argument('--model', default='', help="--tune: a trained toy-flow folder in place of the shipped one")
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    probe = load_probe()
    _, caps, attrs = sample_pairs(a.n_captions, TUNING if a.tune else HELD_OUT)
    print(f'{a.n_captions} {"tuning" if a.tune else "held-out"} captions; {a.threads} torch thread(s), '
          f'{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start\n')  # fmt: skip
    if a.tune:
        tune(probe, caps, attrs, [float(x) for x in a.guidance.split(',')], [int(x) for x in a.steps.split(',')], a.model)
        return
    runs = {}
    print('| preset | sampler | probe agreement (%) | per attribute | s / image |\n|---|---|---|---|---|')
    for preset in ('toy', 'toy-flow'):
        c = resolve_config(preset, 'cpu', quiet=True)
        ims, spi = images(c, caps)
        runs[preset] = agreement(probe, ims, attrs)
        sampler = f'{c.num_inference_steps} steps, guidance {c.guidance_scale:g}'
        print(f'| {preset} | {sampler} | {interval_text(*bootstrap_ci(list(runs[preset])), 100, 1)} | '
              f'{per_attribute(probe, ims, attrs)} | {spi:.3f} |')  # fmt: skip
    diff = bootstrap_ci(list(runs['toy-flow'] - runs['toy']))
    print(f'\ntoy-flow - toy, paired by caption: {interval_text(*diff, 100, 1)} points')


if __name__ == '__main__':
    main()
