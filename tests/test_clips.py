"Scene clips: warp-then-denoise with any SD pipeline, image-to-video by folder, clip files and the final video."

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from msvid.motion.clips import load_video_pipeline, make_clip, save_clip, tiny_svd_pipeline, warp_denoise_clip
from msvid.models.components import tiny_sd_pipeline
from msvid.core.records import CameraMove, InputError, SceneScript, Step, Task
from msvid.core.config import RunConfig
from msvid.scene.context import RunContext
from msvid.io.rundir import RunDir
from msvid.io.video import clips_video, read_video

torch.set_num_threads(1)
KEY = Image.fromarray((np.random.default_rng(0).random((16, 16, 3)) * 255).astype('uint8'))


@pytest.fixture(scope='module')
def pipe():
    p = tiny_sd_pipeline(seed=0)
    p.set_progress_bar_config(disable=True)
    return p


def test_shapes_seed_and_static(pipe):
    a = warp_denoise_clip(pipe, KEY, 'a pan', CameraMove('up', 'fast'), n_frames=3, num_inference_steps=4, seed=1)
    b = warp_denoise_clip(pipe, KEY, 'a pan', CameraMove('up', 'fast'), n_frames=3, num_inference_steps=4, seed=2)
    assert [f.size for f in a] == [(16, 16)] * 3
    assert not np.array_equal(np.asarray(a[1]), np.asarray(b[1]))  # the seed matters


def test_bad_args(pipe):
    with pytest.raises(InputError, match='space'):
        warp_denoise_clip(pipe, KEY, 'x', CameraMove(), space='voxel')
    with pytest.raises(InputError, match='n_frames'):
        warp_denoise_clip(pipe, KEY, 'x', CameraMove(), n_frames=0)


def _ctx(pipe, out, **cfg):
    task = Task('T', [Step('Cut.'), Step('Fry.', camera='left slow')])
    scripts = [SceneScript(0, 'Cut.', 'a knife'), SceneScript(1, 'Fry.', 'a pan', camera=CameraMove('left', 'slow'))]
    config = RunConfig(seed=5, num_inference_steps=3, height=16, width=16, window=[1])
    config = SimpleNamespace(**{**config.__dict__, **cfg})  # clip fields the lead adds to RunConfig
    run = RunDir(out).open(task, RunConfig(seed=5, num_inference_steps=3, height=16, width=16, window=[1]), False)
    return RunContext(pipe, config, scripts, run, task)


def test_make_clip_toy_route_and_files(pipe, tmp_path):
    ctx = _ctx(pipe, tmp_path / 'run', clip_frames=5)
    frames = make_clip(ctx, 1, KEY)
    assert len(frames) == 5
    again = make_clip(ctx, 1, KEY)
    assert np.array_equal(np.asarray(frames[4]), np.asarray(again[4]))  # seed derived from run seed + scene
    rel = save_clip(ctx.run, 1, frames, 8)
    assert rel == 'scenes/02/clip.mp4' and len(read_video(ctx.run.path / rel)) == 5
    v = clips_video(
        tmp_path / 'video.mp4', [[KEY], frames], ['Cut.', 'Fry.'], seconds=1, fps=8, size=64, crossfade=0.25
    )
    assert len(read_video(v)) == 8 + 8 - 2


def test_make_clip_video_model_route(pipe, tmp_path):
    folder = tmp_path / 'tiny-svd'
    tiny_svd_pipeline().save_pretrained(folder)
    ctx = _ctx(pipe, tmp_path / 'run', video_model=str(folder), clip_frames=3, camera_tm=2, quiet=True)
    frames = make_clip(ctx, 1, KEY)
    assert len(frames) == 3 and frames[0].size == (16, 16)
    assert 'video:' + str(folder) in ctx.resources  # loaded once per run
    with pytest.raises(InputError, match='video_model'):
        load_video_pipeline(str(tmp_path / 'missing'))
