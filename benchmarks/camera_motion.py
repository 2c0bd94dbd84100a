"""Camera motion of msvid's warp-then-denoise scene clips (msvid.motion.clips.warp_denoise_clip), measured on the frames.

For each of the 21 direction x speed pairs and a few toy-world keyframes, make a clip, estimate the global motion
between consecutive decoded frames (msvid.motion.camera.estimate_motion: phase correlation + zoom search, NumPy/torch),
and report how often the measured direction is the requested one, whether the measured speed orders
slow < medium < fast, and frame consistency (mean CLIP cosine of consecutive frames).

    python benchmarks/camera_motion.py                      # toy-sd if shipped, else a tiny random pipeline
    python benchmarks/camera_motion.py --keyframes 3 --spaces latent pixel --strengths 0.3 0.5
"""

import argparse, itertools, time

import numpy as np
import torch

from msvid.motion.camera import classify_motion, estimate_motion, motion_speed, content_motion, SPEED_STEP
from msvid.motion.clips import warp_denoise_clip
from msvid.core.records import CAMERA_DIRECTIONS, CAMERA_SPEEDS, CameraMove
from msvid.io.assets import assets_dir


def load(model: str):
    "The text-to-image pipeline and a description of it."
    from msvid.models.components import tiny_sd_pipeline
    from msvid.models.pipelines import load_pipeline

    if model == 'auto':
        model = 'msvid:toy-sd' if (assets_dir() / 'toy-sd').exists() else 'tiny'
    if model == 'tiny':
        return tiny_sd_pipeline(seed=0, latent_size=8), 'tiny random SD pipeline (16x16; toy-sd not shipped)'
    return load_pipeline(model, 'cpu', 'float32', quiet=True), model


def load_encoder():
    from msvid.models.encoders import load_clip, tiny_open_clip

    try:
        return load_clip('toy'), 'toy'
    except Exception:
        import tempfile

        return load_clip(tiny_open_clip(tempfile.mkdtemp())), 'tiny random open_clip'


def keyframes(n: int, size: int):
    "Toy-world keyframes (ground-truth renders) and their captions."
    from msvid.toy.tasks import make_task
    from msvid.toy.render import render

    out = []
    for s in range(n):
        t = make_task(100 + s, n_steps=3)
        out.append((render(t.states[1], size), t.captions[1]))
    return out


def consistency(enc, frames) -> float:
    e = enc.images(frames)
    e = torch.as_tensor(np.asarray(e)) if not isinstance(e, torch.Tensor) else e
    return float((e[1:] * e[:-1]).sum(-1).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='auto', help="'auto', 'tiny', 'msvid:toy-sd', a folder or hub id")
    ap.add_argument('--keyframes', type=int, default=2)
    ap.add_argument('--frames', type=int, default=12)
    ap.add_argument('--steps', type=int, default=25)
    ap.add_argument('--spaces', nargs='+', default=['latent', 'pixel'])
    ap.add_argument('--strengths', nargs='+', type=float, default=[0.05, 0.15, 0.5])
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    pipe, desc = load(a.model)
    pipe.set_progress_bar_config(disable=True)
    enc, enc_desc = load_encoder()
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    keys = keyframes(a.keyframes, size)
    print(
        f'model: {desc}; CLIP for consistency: {enc_desc}; {len(keys)} toy keyframes of {size}px; '
        f'{a.frames} frames; {a.steps} steps; guidance 5.0\n'
    )
    summary, detail = [], []
    for space, strength in itertools.product(a.spaces, a.strengths):
        t0 = time.perf_counter()
        hits = n = 0
        speeds = {}
        cons = []
        for d, sp in itertools.product(CAMERA_DIRECTIONS, CAMERA_SPEEDS):
            ms = []
            for k, (key, cap) in enumerate(keys):
                clip = warp_denoise_clip(
                    pipe,
                    key,
                    cap,
                    CameraMove(d, sp),
                    a.frames,
                    strength,
                    seed=k,
                    num_inference_steps=a.steps,
                    space=space,
                )
                m = np.median(estimate_motion(clip), axis=0)
                got = classify_motion(m)
                hits += got == d
                n += 1
                ms.append(m)
                cons.append(consistency(enc, clip))
            mm = np.mean(ms, axis=0)
            speeds[d, sp] = motion_speed(mm) if d != 'static' else 0.0
            want = motion_speed(content_motion(CameraMove(d, sp)))
            detail.append((space, strength, f'{d} {sp}', classify_motion(mm), *np.round(mm, 4), round(want, 4)))
        order = [
            speeds[d, 'slow'] < speeds[d, 'medium'] < speeds[d, 'fast'] for d in CAMERA_DIRECTIONS if d != 'static'
        ]
        per = {sp: np.mean([speeds[d, sp] for d in CAMERA_DIRECTIONS if d != 'static']) for sp in CAMERA_SPEEDS}
        summary.append(
            (
                space,
                strength,
                f'{hits}/{n} ({hits / n:.0%})',
                f'{sum(order)}/{len(order)}',
                ' / '.join(f'{per[s]:.4f}' for s in CAMERA_SPEEDS),
                f'{np.mean(cons):.3f}',
                f'{time.perf_counter() - t0:.0f}',
            )
        )
    print(
        '| warp space | strength | direction matches | speed ordered slow<medium<fast (directions) '
        '| mean measured step slow / medium / fast (requested 0.0156 / 0.0312 / 0.0625) '
        '| consecutive-frame CLIP cosine | seconds |'
    )
    print('|---|---|---|---|---|---|---|')
    for r in summary:
        print('| ' + ' | '.join(str(x) for x in r) + ' |')
    print('\n| space | strength | requested | measured | dx | dy | log zoom | requested step |')
    print('|---|---|---|---|---|---|---|---|')
    for r in detail:
        print('| ' + ' | '.join(str(x) for x in r) + ' |')


if __name__ == '__main__':
    main()
