"""Re-make README's storyboard: the bundled kitchen example generated with the toy preset defaults (cosed).

python tools/make_storyboard.py    # writes nbs/images/storyboard.png (and the run in runs/storyboard)
"""

import shutil
from pathlib import Path

import torch

from msvid.eval.widgets import figure_png, plot_storyboard
from msvid.io.taskfile import load_task
from msvid.models.presets import resolve_config
from msvid.pipeline.generate import generate

ROOT = Path(__file__).resolve().parents[1]

if __name__ == '__main__':
    torch.set_num_threads(1)
    out = ROOT / 'runs' / 'storyboard'
    shutil.rmtree(out, ignore_errors=True)
    run = generate(
        load_task(ROOT / 'examples' / 'toy-kitchen.json'), out, resolve_config('toy', device='cpu', quiet=True)
    )
    (ROOT / 'nbs' / 'images' / 'storyboard.png').write_bytes(figure_png(plot_storyboard(run.path)))
    print('wrote nbs/images/storyboard.png from', out)
