"Wan and LTX-Video (tiny, random, built offline): the camera warp on their latents, frame counts, joined shots, resume."

import dataclasses, json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import crashing_at
from msvid.core.records import CameraMove, InputError, Step, Task
from msvid.models.families.registry import video_family_of
from msvid.models.presets import resolve_config
from msvid.motion.camera import DIRECTION_FLOW, CameraWarp, warp_frames
from msvid.motion.shots import video_shot
from msvid.pipeline.generate import generate
from msvid.scene.context import run_scripts
from msvid.testing import tiny_ltx_pipeline, tiny_sd_pipeline, tiny_wan_pipeline

torch.set_num_threads(1)
KEY = Image.fromarray((np.random.default_rng(0).random((32, 32, 3)) * 255).astype('uint8'))
LAST = Image.fromarray((np.random.default_rng(1).random((32, 32, 3)) * 255).astype('uint8'))
BUILDERS = {
    'wan2.1-i2v': lambda: tiny_wan_pipeline(),
    'wan2.2-i2v': lambda: tiny_wan_pipeline(image_encoder=False),
    'ltx': lambda: tiny_ltx_pipeline(),
}


def _quiet(pipe):
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope='module', params=list(BUILDERS))
def video(request):
    return _quiet(BUILDERS[request.param]())


class Spy(CameraWarp):
    "A CameraWarp that keeps the latents and the predicted x0 around the warp."

    def __call__(self, pipe, i, t, kwargs):
        if i + 1 == self.t_m and self.move.direction != 'static':
            self.before, self.x0 = kwargs['latents'].clone(), self._track.x0.clone()
            fam = video_family_of(pipe)
            self.a = fam.signal(i, fam.frames(self.before))
        out = super().__call__(pipe, i, t, kwargs)
        if i + 1 == self.t_m and self.move.direction != 'static':
            self.after = out['latents'].clone()
        return out


@pytest.mark.parametrize('direction', list(DIRECTION_FLOW))
def test_camera_warp_moves_the_predicted_video(video, direction):
    "VideoStudio eq. 2 on each family's own latents: x += (1 - sigma) * blend * (warp(x0) - x0), frame 0 unmoved."
    fam = video_family_of(video)
    spy = Spy(CameraMove(direction, 'fast'), t_m=2)
    frames = fam.image_to_video(KEY, 'a red bowl', 0, 4, spy, 5.0, num_frames=9, height=32, width=32)
    assert len(frames) == 9 and frames[0].size == (32, 32)
    if direction == 'static':
        assert spy.applied is None  # nothing to warp: the callback leaves the latents alone
        return
    assert spy.applied == 'x0' and 'step' not in vars(video.scheduler)  # x0 from the velocity; the wrapper is gone
    delta = fam.frames(spy.after - spy.before)
    assert delta.shape[1] == 3  # (9 - 1) / 4 + 1 latent frames, unpacked from LTX's tokens
    assert delta[:, 0].abs().max() < 1e-5 and delta[:, 1:].abs().mean() > 1e-3
    x0 = fam.frames(spy.x0).float()
    expect = spy.a * spy.blend * (warp_frames(x0, spy.move, spy.fps, stride=fam.temporal_stride) - x0)
    torch.testing.assert_close(delta, expect, atol=1e-4, rtol=1e-4)


def test_x0_of_a_step_is_the_final_latent_at_the_end(video):
    "The last step ends at sigma 0, so its tracked x0 is the latents it returns (the velocity's sign and sigma)."
    fam, seen = video_family_of(video), []
    with fam.tracking_x0() as track:
        cb = lambda p, i, t, kw: (seen.append((track.x0.clone(), kw['latents'].clone())), kw)[1]
        fam.image_to_video(KEY, 'a red bowl', 0, 3, cb, 5.0, num_frames=5, height=32, width=32)
    x0, last = (fam.frames(z)[:, 1:] for z in seen[-1])  # frame 0: the keyframe's (LTX keeps it as it is)
    torch.testing.assert_close(x0, last)


def test_frame_counts_sizes_and_families(video):
    "A shot of n frames is made at the autoencoder's next 4k+1 (Wan) or 8k+1 (LTX) and cut to n; sides rounded."
    fam = video_family_of(video)
    assert fam.name == ('LTXVideo' if 'LTX' in type(video).__name__ else 'Wan')
    assert [fam.frame_count(n) for n in (1, 2, 5, 6)] == [5, 5, 5, 9]  # the tiny autoencoders compress time by 4
    frames = video_shot(video, KEY.resize((40, 37)), 'a pan', CameraMove('left', 'slow'), 6, num_inference_steps=2)
    assert len(frames) == 6 and frames[0].size == (32, 32)  # 40 x 37 rounded down to the multiple the model takes


def _calls(fam):
    "Record the keyword arguments of every pipeline call the family makes."
    calls, real = [], fam.call
    fam.call = lambda **kw: (calls.append(kw), real(**kw))[1]
    return calls


def test_joined_shot_ends_on_the_given_frame():
    "Wan 2.2 (no image encoder) and LTX take a last frame: the call carries it; every frame of the shot comes back."
    for pipe in (tiny_wan_pipeline(image_encoder=False), tiny_ltx_pipeline()):
        fam = video_family_of(_quiet(pipe))
        assert fam.joins_shots
        calls = _calls(fam)
        frames = fam.image_to_video(KEY, 'a pan', 0, 2, None, 5.0, num_frames=6, last_image=LAST, height=32, width=32)
        assert len(frames) == 9  # the whole shot, up to the frame it ends on
        kw = calls[-1]
        if 'conditions' in kw:  # LTX: the keyframe at frame 0, the last frame at the shot's end
            assert [(c.image, c.frame_index) for c in kw['conditions']] == [(KEY, 0), (LAST, 8)]
        else:
            assert kw['image'] is KEY and kw['last_image'] is LAST


def test_models_that_cannot_join_say_so_in_one_line():
    "Wan 2.1 I2V reads one image: a last frame is refused; the first-last-frame model refuses to go without one."
    i2v = video_family_of(_quiet(tiny_wan_pipeline()))
    with pytest.raises(InputError, match='cannot end a shot') as e:
        i2v.image_to_video(KEY, 'a pan', 0, 2, num_frames=5, last_image=LAST, height=32, width=32)
    assert '\n' not in str(e.value)
    flf = video_family_of(_quiet(tiny_wan_pipeline(last_frame=True)))
    assert flf.joins_shots
    with pytest.raises(InputError, match='between two frames'):
        flf.image_to_video(KEY, 'a pan', 0, 2, num_frames=5, height=32, width=32)
    assert len(flf.image_to_video(KEY, 'a pan', 0, 2, num_frames=5, last_image=LAST, height=32, width=32)) == 5


def test_ltx_frames_need_the_grid_of_their_call():
    "LTX's packed tokens carry no frame grid: a warp outside `image_to_video` is refused, not guessed."
    pipe = _quiet(tiny_ltx_pipeline())
    with pytest.raises(InputError, match='image_to_video'):
        video_family_of(pipe).frames(torch.zeros(1, 48, 8))


@pytest.mark.parametrize('name', ['wan2.2-i2v', 'ltx'])
def test_shots_crash_then_resume_is_identical(tmp_path, monkeypatch, name):
    "A run with Wan or LTX shots cut by Ctrl-C at scene 3 and resumed: every shot file byte-identical to a whole run."
    folder = tmp_path / name
    BUILDERS[name]().save_pretrained(folder)
    task = Task('Bowl', [Step('Fill the bowl.'), Step('Stir the bowl.', camera='left fast'), Step('Pour it out.')])
    cfg = resolve_config('toy', 'cpu', quiet=True, shots=True, video_model=str(folder), shot_frames=5, camera_tm=1,
                         num_inference_steps=2, scene_seconds=0.25, method='fixed-seed')  # fmt: skip
    pipe = _quiet(tiny_sd_pipeline(seed=0))
    generate(task, tmp_path / 'full', cfg, pipe=pipe)
    with crashing_at(monkeypatch, 'fixed-seed'), pytest.raises(KeyboardInterrupt):
        generate(task, tmp_path / 'cut', cfg, pipe=pipe)
    generate(task, tmp_path / 'cut', cfg, resume=True, pipe=pipe)
    scenes = json.loads((tmp_path / 'full' / 'manifest.json').read_text())['scenes']
    assert all(s['shot'] for s in scenes)
    for s in scenes:
        assert (tmp_path / 'full' / s['shot']).read_bytes() == (tmp_path / 'cut' / s['shot']).read_bytes(), s['shot']


JOIN_TASK = Task('Bowl', [Step('Fill the bowl with water.'), Step('Stir the water in the bowl.', camera='left fast'),
                          Step('Wash the cup.'), Step('Dry the cup.')])  # fmt: skip


def _join_config(folder, **kw):
    return resolve_config('toy', 'cpu', quiet=True, shots=True, video_model=str(folder), shot_frames=5, camera_tm=1,
                          num_inference_steps=2, scene_seconds=0.25, method='fixed-seed', **({'shot_join': True} | kw))  # fmt: skip


@pytest.fixture(scope='module')
def ltx_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp('ltx')
    tiny_ltx_pipeline().save_pretrained(folder)
    return folder


def test_joined_shots_end_on_the_next_keyframe_where_it_shows_this_scene(tmp_path, monkeypatch, ltx_folder):
    "--shot-join: scene i's shot ends on scene i+1's keyframe exactly when scene i+1 depends on scene i."
    import msvid.motion.shots as shots

    seen, real = {}, shots.video_shot

    def spy(pipe, keyframe, prompt, *a, last_image=None, **kw):
        seen[prompt] = last_image
        return real(pipe, keyframe, prompt, *a, last_image=last_image, **kw)

    monkeypatch.setattr(shots, 'video_shot', spy)
    cfg = _join_config(ltx_folder)
    scripts = run_scripts(JOIN_TASK, cfg)
    scripts[2] = dataclasses.replace(scripts[2], depends_on=[])  # a new thing: no join into scene 3
    run = generate(JOIN_TASK, tmp_path / 'run', cfg, pipe=_quiet(tiny_sd_pipeline(seed=0)), scripts=scripts)
    m = run.read()
    joined = [i for i in range(3) if i in m['scenes'][i + 1]['script']['depends_on']]
    assert 0 in joined and 1 not in joined
    for i, s in enumerate(m['scenes']):
        last = seen[s['script']['caption']]
        if i in joined:
            key = Image.open(tmp_path / 'run' / m['scenes'][i + 1]['keyframe']).convert('RGB')
            assert np.array_equal(np.asarray(last), np.asarray(key))
        else:
            assert last is None
        assert s['shot'] in s['files'] and s['extra']['shot_unet_evals'] > 0  # checksum and cost of the shot


def test_first_last_frame_shots_end_where_the_camera_move_ends(tmp_path, monkeypatch):
    """Wan FLF2V makes a shot only between two frames: without --shot-join every shot ends on its keyframe moved by the
    camera; with it, a scene that a later one shows again ends on that keyframe and the others as before."""
    import msvid.motion.shots as shots
    from msvid.motion.camera import camera_end_frame

    folder = tmp_path / 'flf2v'
    _quiet(tiny_wan_pipeline(last_frame=True)).save_pretrained(folder)
    seen, real = {}, shots.video_shot

    def spy(pipe, keyframe, prompt, move, *a, last_image=None, **kw):
        seen[prompt] = (keyframe, move, last_image)
        return real(pipe, keyframe, prompt, move, *a, last_image=last_image, **kw)

    monkeypatch.setattr(shots, 'video_shot', spy)
    moved = []
    for join in (False, True):
        cfg = _join_config(folder, shot_join=join)
        m = generate(JOIN_TASK, tmp_path / f'run{join}', cfg, pipe=_quiet(tiny_sd_pipeline(seed=0))).read()
        for i, s in enumerate(m['scenes']):
            keyframe, move, last = seen[s['script']['caption']]
            nxt = m['scenes'][i + 1] if i + 1 < len(m['scenes']) else None
            if join and nxt and i in nxt['script']['depends_on']:
                want = Image.open(tmp_path / f'run{join}' / nxt['keyframe']).convert('RGB')
            else:
                want = camera_end_frame(keyframe, move, cfg.shot_frames, cfg.fps, cfg.camera_gain)
            assert np.array_equal(np.asarray(last), np.asarray(want)), (join, i)
            assert s['shot']
            moved.append(not np.array_equal(np.asarray(last), np.asarray(keyframe.convert('RGB'))))
    assert any(moved[:4])  # the 'left fast' scene ends away from its keyframe


def test_joined_shots_cut_and_resumed_are_identical(tmp_path, monkeypatch, ltx_folder):
    import msvid.pipeline.generate as gen

    cfg, pipe = _join_config(ltx_folder), _quiet(tiny_sd_pipeline(seed=0))
    generate(JOIN_TASK, tmp_path / 'full', cfg, pipe=pipe)
    real = gen.make_shot

    def crash(ctx, i, *a):
        if i == 2:
            raise KeyboardInterrupt
        return real(ctx, i, *a)

    monkeypatch.setattr(gen, 'make_shot', crash)
    with pytest.raises(KeyboardInterrupt):
        generate(JOIN_TASK, tmp_path / 'cut', cfg, pipe=pipe)
    cut = json.loads((tmp_path / 'cut' / 'manifest.json').read_text())['scenes']
    assert all(s['keyframe'] for s in cut) and [bool(s['shot']) for s in cut] == [True, True, False, False]
    monkeypatch.setattr(gen, 'make_shot', real)
    generate(JOIN_TASK, tmp_path / 'cut', cfg, resume=True, pipe=pipe)
    scenes = json.loads((tmp_path / 'full' / 'manifest.json').read_text())['scenes']
    for s in scenes:
        assert (tmp_path / 'full' / s['shot']).read_bytes() == (tmp_path / 'cut' / s['shot']).read_bytes(), s['shot']


def test_a_model_that_cannot_join_stops_before_any_keyframe(tmp_path):
    folder = tmp_path / 'wan21'
    tiny_wan_pipeline().save_pretrained(folder)  # Wan 2.1 I2V: an image encoder, no last frame
    with pytest.raises(InputError, match='cannot end a shot on a given frame'):
        generate(JOIN_TASK, tmp_path / 'run', _join_config(folder), pipe=_quiet(tiny_sd_pipeline(seed=0)))
    assert not (tmp_path / 'run' / 'scenes').exists()


def test_joined_shots_run_after_the_keyframe_model_is_dropped(tmp_path, monkeypatch, ltx_folder):
    "With --shot-join the keyframe pipeline generate loaded is released before the shots (the plan counts on it)."
    import msvid.pipeline.generate as gen

    seen, real = [], gen.make_shot
    monkeypatch.setattr(gen, 'make_shot', lambda ctx, *a: (seen.append(ctx.pipe), real(ctx, *a))[1])
    generate(JOIN_TASK, tmp_path / 'run', _join_config(ltx_folder))
    assert len(seen) == len(JOIN_TASK.steps) and all(p is None for p in seen)
