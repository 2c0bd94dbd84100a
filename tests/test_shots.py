"Scene shots: warp-then-denoise with any SD pipeline, image-to-video by folder, clip files and the final video."

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import load_benchmark

from msvid.motion.camera import warp_frames
from msvid.motion.shots import load_video_pipeline, make_shot, save_shot, warp_denoise_shot
from msvid.testing import tiny_sd_pipeline, tiny_svd_pipeline
from msvid.core.records import CameraMove, InputError, SceneScript, Step, Task
from msvid.core.config import RunConfig
from msvid.scene.context import RunContext
from msvid.io.rundir import RunDir
from msvid.io.video import shots_video, read_video

torch.set_num_threads(1)
KEY = Image.fromarray((np.random.default_rng(0).random((16, 16, 3)) * 255).astype('uint8'))


@pytest.fixture(scope='module')
def pipe():
    p = tiny_sd_pipeline(seed=0)
    p.set_progress_bar_config(disable=True)
    return p


ROOT = Path(__file__).parent.parent


def _bench():
    "benchmarks/camera_motion.py: the motion measurement that does not use msvid's own (NumPy only)."
    return load_benchmark('camera_motion')


def test_shapes_seed_and_static(pipe):
    clip = lambda seed, **kw: warp_denoise_shot(
        pipe, KEY, 'a pan', CameraMove('up', 'fast'), n_frames=3, num_inference_steps=4, seed=seed, fps=2, **kw
    )
    a, b = clip(1, paint=True), clip(2, paint=True)
    assert [f.size for f in a] == [(16, 16)] * 3
    assert not np.array_equal(np.asarray(a[1]), np.asarray(b[1]))  # the seed matters where the model paints
    assert np.array_equal(np.asarray(a[1])[8:], np.asarray(b[1])[8:])  # and only there
    assert np.array_equal(np.asarray(clip(1)[1]), np.asarray(clip(2)[1]))  # nothing painted: no noise


def test_keep_shows_the_keyframe_moved_exactly(pipe):
    "Wherever a frame shows the keyframe it is the keyframe warped; the re-painting clip (keep=False) is not."
    mv = CameraMove('left', 'fast')
    kept = warp_denoise_shot(pipe, KEY, 'a pan', mv, n_frames=4, num_inference_steps=4, fps=4, paint=True)
    x = torch.from_numpy(np.asarray(KEY)).permute(2, 0, 1).float()[None, None].repeat(1, 4, 1, 1, 1)
    want = warp_frames(x, mv, fps=4, padding='border', resample='area')[0].permute(0, 2, 3, 1).round().numpy()
    got = np.stack([np.asarray(f, float) for f in kept])
    inner = (slice(None), slice(None), slice(8, None))  # 1 px per frame enters from the left: columns >= 8 are kept
    assert np.abs(got[inner] - want[inner]).max() <= 1
    old = warp_denoise_shot(pipe, KEY, 'a pan', mv, n_frames=4, num_inference_steps=4, fps=4, keep=False)
    assert np.abs(np.stack([np.asarray(f, float) for f in old])[inner] - want[inner]).mean() > 5


@pytest.mark.parametrize('direction', ['left', 'right', 'up', 'down', 'forward', 'backward'])
def test_moves_measured_independently(pipe, direction, tmp_path):
    "Every direction at every speed, through an .mp4: measured (NumPy phase correlation) in its direction, in order."
    bench, key = _bench(), Image.fromarray(np.asarray(KEY.resize((64, 64), Image.BICUBIC)))
    speeds = []
    for sp in ('slow', 'medium', 'fast'):
        clip = warp_denoise_shot(pipe, key, 'a pan', CameraMove(direction, sp), n_frames=8, fps=8)
        frames = bench.decoded(clip, 8, tmp_path)  # written at 256 px, box-averaged back to 64
        assert frames[0].shape == (64, 64, 3)
        v = bench.clip_velocity(bench.pair_motions(frames), (64, 64), 8)
        assert bench.classify(v, 0.02) == direction, (sp, v)
        speeds.append(bench.along(dict(d=direction, v=v)))
    assert speeds[0] < speeds[1] < speeds[2], speeds


def test_bad_args(pipe):
    with pytest.raises(InputError, match='space'):
        warp_denoise_shot(pipe, KEY, 'x', CameraMove(), space='voxel')
    with pytest.raises(InputError, match='n_frames'):
        warp_denoise_shot(pipe, KEY, 'x', CameraMove(), n_frames=0)


def _ctx(pipe, out, **cfg):
    task = Task('T', [Step('Cut.'), Step('Fry.', camera='left slow')])
    scripts = [SceneScript(0, 'Cut.', 'a knife'), SceneScript(1, 'Fry.', 'a pan', camera=CameraMove('left', 'slow'))]
    config = RunConfig(seed=5, num_inference_steps=3, height=16, width=16, window=[1], **cfg)
    run = RunDir(out).open(task, config, False)
    return RunContext(pipe, config, scripts, run, task)


def test_make_shot_toy_route_and_files(pipe, tmp_path):
    ctx = _ctx(pipe, tmp_path / 'run', shot_frames=5)
    frames = make_shot(ctx, 1, KEY)
    assert len(frames) == 5
    again = make_shot(ctx, 1, KEY)
    assert np.array_equal(np.asarray(frames[4]), np.asarray(again[4]))  # seed derived from run seed + scene
    rel = save_shot(ctx.run, 1, frames, 8)
    back = read_video(ctx.run.path / rel)
    assert rel == 'scenes/02/shot.mp4' and len(back) == 5
    assert back[0].shape == (256, 256, 3)  # 16 px frames enlarged 16x (nearest) for the viewer and the codec
    v = shots_video(
        tmp_path / 'video.mp4', [[KEY], frames], ['Cut.', 'Fry.'], seconds=1, fps=8, size=64, crossfade=0.25
    )
    assert len(read_video(v)) == 8 + 8 - 2


def test_shot_paint_makes_strength_and_space_count(pipe, tmp_path):
    "With shot_paint the denoiser paints what enters the frame at shot_strength, warping in shot_space; without it"
    "neither setting changes the clip, nor the run's generation key."
    runs = iter(range(100))

    def frames(**cfg):
        ctx = _ctx(pipe, tmp_path / str(next(runs)), shot_frames=4, **cfg)
        return np.stack([np.asarray(f) for f in make_shot(ctx, 1, KEY)])

    plain, painted = frames(), frames(shot_paint=True)
    assert not np.array_equal(plain, painted)
    assert not np.array_equal(painted, frames(shot_paint=True, shot_strength=0.9))
    assert not np.array_equal(painted, frames(shot_paint=True, shot_space='latent'))
    assert np.array_equal(plain, frames(shot_strength=0.9, shot_space='latent'))
    key = lambda **kw: RunConfig(shots=True, **kw).generation_key()
    assert key(shot_strength=0.9, shot_space='latent') == key() != key(shot_paint=True)
    assert key(shot_paint=True, shot_strength=0.9) != key(shot_paint=True)


def test_readme_example_shows_every_requested_move(tmp_path):
    "`msvid generate examples/toy-kitchen.json --shots` on the toy preset: each shot.mp4 moves as its scene asks."
    from msvid.cli import main
    from msvid.io.assets import assets_dir

    if not (assets_dir() / 'toy-sd').exists():
        pytest.skip('toy-sd not shipped')
    out, bench = tmp_path / 'run', _bench()
    args = ['generate', str(ROOT / 'examples' / 'toy-kitchen.json'), '--out', str(out), '--shots']
    assert main([*args, '--method', 'independent', '--steps', '6', '--quiet', '--device', 'cpu']) == 0
    scenes = RunDir(out).read()['scenes']
    asked = [s['script']['camera']['direction'] for s in scenes]
    assert any(d != 'static' for d in asked)
    for s, d in zip(scenes, asked):
        frames = read_video(out / s['shot'])  # enlarged by write_video: measured at the keyframe's own size
        frames = bench.shrink(frames, Image.open(out / s['keyframe']).size)
        v = bench.clip_velocity(bench.pair_motions(frames), frames[0].shape[:2], RunConfig().fps)
        assert bench.classify(v, 0.02) == d, (s['script']['caption'], d, v)


def test_make_shot_video_model_route(pipe, tmp_path):
    folder = tmp_path / 'tiny-svd'
    tiny_svd_pipeline().save_pretrained(folder)
    ctx = _ctx(pipe, tmp_path / 'run', video_model=str(folder), shot_frames=3, camera_tm=2, quiet=True)
    frames = make_shot(ctx, 1, KEY)
    assert len(frames) == 3 and frames[0].size == (16, 16)
    assert 'video:' + str(folder) in ctx.resources  # loaded once per run
    with pytest.raises(InputError, match='video_model'):
        load_video_pipeline(str(tmp_path / 'missing'))
