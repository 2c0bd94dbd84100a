"""Issue #33: one `error:` line really means one. Library warnings and reports raised on the way down stay off
stderr, a torchvision that does not match torch and an ffmpeg without libx264 are named as such (exit 2), and
nothing non-finite reaches `manifest.json` (an old manifest holding NaN is refused in one line)."""

import json, sys

import pytest
import torch

from conftest import refused  # with capfd: a library's own log handler writes to the descriptor
from msvid.core.config import RunConfig

torch.set_num_threads(1)
FAST = ['--size', '16', '--steps', '2', '--quiet', '--device', 'cpu', '--scene-seconds', '0.25']
TASK = '# Garlic toast\n1. Slice the bread.\n2. Toast it.\n'


@pytest.fixture
def task(tmp_path):
    p = tmp_path / 't.md'
    p.write_text(TASK)
    return p


def test_bad_clip_folder_is_one_line(capfd, tmp_path, task):
    "A CLIP folder whose weights lack every tensor of its config: one line (transformers would start them at random)."
    from safetensors.torch import save_file
    from transformers import CLIPConfig

    small = dict(hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2)
    cfg = CLIPConfig(
        text_config=dict(small, vocab_size=100, max_position_embeddings=16),
        vision_config=dict(small, image_size=16, patch_size=8),
        projection_dim=4,
    )
    folder = tmp_path / 'clip'
    cfg.save_pretrained(folder)
    save_file({'unused.weight': torch.zeros(2)}, str(folder / 'model.safetensors'))
    capfd.readouterr()
    refused(capfd, 'generate', task, '--out', tmp_path / 'run', *FAST, '--method', 'cosed', '--window', '1',
            '--select-at', '2', '--clip', folder, message="its weights lack 46 tensors of its config")  # fmt: skip


class _BrokenTorchvision:
    "An import hook raising what a torchvision built for another torch raises (pytorch/pytorch#122494)."

    def find_spec(self, name, path=None, target=None):
        if name == 'msvid.pipeline.generate':
            raise RuntimeError(
                'Failed to import diffusers.pipelines.auto_pipeline because of the following error (look up to see'
                ' its traceback):\noperator torchvision::nms does not exist'
            )
        return None


def test_torchvision_mismatch_is_exit_2(capfd, monkeypatch, task, tmp_path):
    from importlib.metadata import version

    monkeypatch.delitem(sys.modules, 'msvid.pipeline.generate', raising=False)
    monkeypatch.setattr(sys, 'meta_path', [_BrokenTorchvision(), *sys.meta_path])
    err = refused(capfd, 'generate', task, '--out', tmp_path / 'run', *FAST,
                  message=f"torchvision {version('torchvision')} does not match torch {version('torch')}")  # fmt: skip
    assert 'operator torchvision::nms does not exist' in err and 'reinstall torchvision' in err
    assert not (tmp_path / 'run').exists()


def test_nan_never_reaches_the_manifest(capfd, monkeypatch, task, tmp_path):
    to_dict = RunConfig.to_dict
    monkeypatch.setattr(RunConfig, 'to_dict', lambda self: {**to_dict(self), 'adherence_weight': float('nan')})
    refused(capfd, 'generate', task, '--out', tmp_path / 'run', *FAST,
            message='manifest.json: config.adherence_weight is nan, not a finite number')  # fmt: skip
    assert not (tmp_path / 'run' / 'manifest.json').exists()


def test_old_nan_manifest_is_one_line(capfd, task, tmp_path):
    run = tmp_path / 'run'
    run.mkdir()
    text = json.dumps({'task': {}, 'config': {'guidance_scale': float('nan')}, 'scenes': [None, None]})
    (run / 'manifest.json').write_text(text)  # as an msvid before #33 could write it
    refused(capfd, 'generate', task, '--out', run, *FAST, '--resume', message='NaN is not a JSON number')


@pytest.mark.parametrize('ffmpeg, message', [
    ('missing', 'no working ffmpeg to write videos'),
    ('no-x264', 'has no libx264 encoder: pip install --force-reinstall imageio-ffmpeg'),
])
def test_a_missing_video_encoder_is_named_before_any_scene(capfd, monkeypatch, task, tmp_path, ffmpeg, message):
    from msvid.io.video import check_encoder

    exe = tmp_path / 'ffmpeg'
    if ffmpeg == 'no-x264':  # a system ffmpeg built without libx264; encoding with it would fail after every scene
        exe.write_text("#!/bin/sh\necho ' V....D mpeg4  MPEG-4 part 2'\necho \"Unknown encoder 'libx264'\" >&2\n")
        exe.chmod(0o755)
    monkeypatch.setenv('IMAGEIO_FFMPEG_EXE', str(exe))
    check_encoder.cache_clear()
    try:
        refused(capfd, 'generate', task, '--out', tmp_path / 'run', *FAST, message=message)
    finally:
        check_encoder.cache_clear()
    assert not (tmp_path / 'run').exists()
