"Rolling-context keyframes through the command line and the Python API, on tiny random components."

import json

import pytest
import torch
from PIL import Image

import msvid.methods.registry  # noqa: F401  every method registered
from conftest import crashing_at
from msvid.cli import main
from msvid.core.records import SceneScript
from msvid.methods.rolling import Canvas, canvas_layout, context_scenes, encode_image, fill, tiled_caption


def rolling_args(task_file, out, model, method, *extra):
    return [
        'generate',
        str(task_file),
        '--out',
        str(out),
        '--model',
        str(model),
        '--method',
        method,
        '--size',
        '16',
        '--steps',
        '4',
        '--quiet',
        '--device',
        'cpu',
        '--scene-seconds',
        '0.25',
        *extra,
    ]


@pytest.mark.parametrize('method', ['rolling', 'rolling-deps'])
def test_rolling_methods_record_context(tmp_path, task_file, tiny_model_dir, method):
    assert main(rolling_args(task_file, tmp_path / 'r', tiny_model_dir, method)) == 0
    m = json.loads((tmp_path / 'r' / 'manifest.json').read_text())
    assert m['status'] == 'complete' and (tmp_path / 'r' / 'video.mp4').exists()
    for i, s in enumerate(m['scenes']):
        ctx = s['extra']['context']
        assert all(j < i for j in ctx) and len(ctx) <= 3
        if method == 'rolling':
            assert ctx == list(range(max(0, i - 3), i))
        else:
            assert ctx == sorted(s['script']['depends_on'])[-3:]
        assert s['extra']['layout'] == f"1x{len(ctx) + 1} panels of 16x16"
        assert s['unet_evals'] == 2 * 4
    assert Image.open(tmp_path / 'r' / m['scenes'][2]['keyframe']).size == (16, 16)


def test_rolling_crash_then_resume_is_identical(tmp_path, task_file, tiny_model_dir, monkeypatch):
    assert main(rolling_args(task_file, tmp_path / 'full', tiny_model_dir, 'rolling')) == 0
    with crashing_at(monkeypatch, 'rolling'):
        assert main(rolling_args(task_file, tmp_path / 'cut', tiny_model_dir, 'rolling')) == 130
    assert main(rolling_args(task_file, tmp_path / 'cut', tiny_model_dir, 'rolling', '--resume')) == 0
    for i in range(3):
        assert (tmp_path / 'full' / f'scenes/{i + 1:02d}/keyframe.png').read_bytes() == (
            tmp_path / 'cut' / f'scenes/{i + 1:02d}/keyframe.png'
        ).read_bytes()


def test_known_panels_are_kept_exactly():
    from msvid.testing import tiny_sd_pipeline
    from msvid.models.presets import resolve_config

    pipe = tiny_sd_pipeline()
    pipe.set_progress_bar_config(disable=True)
    cfg = resolve_config(
        device='cpu', model='tiny', method='independent', height=16, width=16, num_inference_steps=3, quiet=True
    )
    a, b = Image.new('RGB', (16, 16), (200, 20, 20)), Image.new('RGB', (16, 16), (20, 20, 200))
    cv = Canvas(canvas_layout(3, 16, 16, 'grid'), [a, b, b, None], ['a', 'b', None, 'c'])
    img, z = fill(pipe, cv, cfg, torch.randn(4, 8, 8))
    assert img.size == (32, 32) and z.shape == (1, 4, 16, 16)
    assert torch.allclose(z[0, :, :8, :8], encode_image(pipe, a, 16, 16), atol=1e-5)
    assert torch.allclose(z[0, :, :8, 8:], encode_image(pipe, b, 16, 16), atol=1e-5)
    assert tiled_caption(cv) == 'bottom-right: c; top-right: b; top-left: a'


def test_context_selection_and_errors():
    sc = [SceneScript(j, '', '', depends_on=d) for j, d in enumerate([[], [0], [0], [1, 2], [0]])]
    assert context_scenes(sc, 4, 2, 'last') == [2, 3]
    assert context_scenes(sc, 4, 2, 'deps') == [0]
    assert context_scenes(sc, 3, 1, 'deps') == [2]
    from msvid.core.records import InputError

    with pytest.raises(InputError, match='context mode'):
        context_scenes(sc, 1, 1, 'all')
