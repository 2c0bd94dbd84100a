"""`msvid plan` for every real preset x video model x GPU class, written to benchmarks/results/memory_plans.md.

The plan is arithmetic on the vendored component configs (meta-device counts), not a measurement on a GPU:
    python benchmarks/memory_plans.py
"""

import sys
from pathlib import Path

from msvid.core.records import InputError
from msvid.models.plan import GPUS, VIDEO_DTYPES, plan_run, run_shape
from msvid.models.presets import PRESETS, resolve_config
from msvid.models.sizes import model_keys

OUT = Path(__file__).parent / 'results' / 'memory_plans.md'


def cell(preset: str, video: str, gpu: str) -> str:
    "One table cell: each stage's quantization/placement and the run's peak GPU / RAM, or why it does not fit."
    shape = run_shape(resolve_config(preset, 'cpu', shots=bool(video), video_model=video or None))
    try:
        stages = plan_run(PRESETS[preset], video, gpu, shape)
    except InputError:
        return 'does not fit'
    how = ', '.join(f"{s.stage[0]}:{s.quant + ' ' if s.quant else ''}{s.placement}{' tiles' * s.vae_tiling}"
                    for s in stages[-2:] if s.stage != 'script')  # fmt: skip
    return f"{how} ({max(s.gpu_gib for s in stages):.1f} / {max(s.ram_gib for s in stages):.1f})"


def main() -> int:
    presets = [p for p in PRESETS if p in model_keys()]
    lines = [
        '# Memory plans (`msvid plan`), every real preset x video model x GPU class',
        '',
        'Computed by `python benchmarks/memory_plans.py` from the vendored configs (`msvid/assets/model-configs`)',
        'and the decode factors the full-size dry run measured on CPU (`dry_run.md`); not measured on a GPU.',
        'A cell: k = keyframes, v = video; placement (nf4 = the transformer and T5-class encoders quantized, tiles =',
        "the autoencoder decodes in tiles); in brackets the peak GPU GiB / peak RAM GiB over the run's stages (the",
        "script LM stage included). Each run at its preset's size and its own batch, shots of 12 frames at the",
        'keyframe size, as `msvid generate` runs it (`msvid.models.plan.run_shape`).',
        'GPU classes: ' + '; '.join(f"{k}: {g.name}, {g.vram_gib:g} GiB, {g.ram_gib:.1f} GiB RAM"
                                    for k, g in GPUS.items()) + '.',  # fmt: skip
        '',
    ]
    for gpu in GPUS:
        lines += [f'## {GPUS[gpu].name}', '', '| preset | ' + ' | '.join(['(no shots)', *VIDEO_DTYPES]) + ' |',
                  '|---' * (len(VIDEO_DTYPES) + 2) + '|']
        for p in presets:
            lines.append(f'| {p} | ' + ' | '.join(cell(p, v, gpu) for v in ['', *VIDEO_DTYPES]) + ' |')
        lines.append('')
    OUT.write_text('\n'.join(lines))
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(main())
