"Camera warp inside real diffusers video pipelines (tiny random components): layout, eq. 2, clean-up."

import numpy as np
import pytest
import torch

from msvid.models.families.registry import video_family_of
from msvid.motion.camera import CameraWarp, estimate_motion, classify_motion, warp_frames
from msvid.motion.camera import CAMERA_SPEED, content_motion
from msvid.testing import tiny_animatediff_pipeline, tiny_svd_pipeline
from msvid.core.records import CameraMove, InputError

torch.set_num_threads(1)


class Spy(CameraWarp):
    "A CameraWarp that keeps the latents and the predicted x0 around the warp."

    def __call__(self, pipe, i, t, kwargs):
        if i + 1 == self.t_m:
            fam = video_family_of(pipe)
            self.before, self.x0 = kwargs['latents'].clone(), None if self._track.x0 is None else self._track.x0.clone()
            self.a = fam.signal(i, fam.frames(self.before))
        out = super().__call__(pipe, i, t, kwargs)
        if i + 1 == self.t_m:
            self.after = out['latents'].clone()
        return out


def _check(pipe, spy, frame_axis):
    fam = video_family_of(pipe)
    assert spy.applied == 'x0'
    assert 'step' not in vars(pipe.scheduler)  # the wrapper is gone
    delta = fam.frames(spy.after - spy.before)
    assert delta[:, 0].abs().max() < 1e-5  # frame 0 is not displaced
    assert delta[:, 1:].abs().mean() > 1e-3  # the others are
    x0 = fam.frames(spy.x0).float()
    expect = spy.a * spy.blend * (warp_frames(x0, spy.move, spy.fps, stride=fam.temporal_stride) - x0)
    assert torch.allclose(delta, expect, atol=1e-4)
    assert spy.before.shape[frame_axis] == 4


def test_svd_layout_and_eq2():
    pipe = tiny_svd_pipeline()
    pipe.set_progress_bar_config(disable=True)
    from PIL import Image

    img = Image.fromarray((np.random.default_rng(0).random((16, 16, 3)) * 255).astype('uint8'))
    spy = Spy(CameraMove('left', 'fast'), t_m=2)
    run = lambda cb: (
        pipe(
            image=img,
            height=16,
            width=16,
            num_frames=4,
            num_inference_steps=3,
            decode_chunk_size=2,
            generator=torch.Generator().manual_seed(0),
            output_type='pt',
            callback_on_step_end=cb,
            callback_on_step_end_tensor_inputs=['latents'],
        ).frames
    )
    moved = run(spy)
    _check(pipe, spy, 1)
    assert spy.a == 1.0  # Euler/EDM: x = x0 + sigma * eps
    still = run(CameraWarp(CameraMove('static')))
    assert not torch.allclose(moved, still)


def test_animatediff_layout_and_eq2():
    pipe = tiny_animatediff_pipeline()
    pipe.set_progress_bar_config(disable=True)
    spy = Spy(CameraMove('down', 'medium'), t_m=2)
    pipe(
        prompt='a pan',
        num_frames=4,
        height=16,
        width=16,
        num_inference_steps=3,
        guidance_scale=2.0,
        generator=torch.Generator().manual_seed(0),
        output_type='pt',
        callback_on_step_end=spy,
        callback_on_step_end_tensor_inputs=['latents'],
    )
    _check(pipe, spy, 2)
    assert 0 < float(spy.a.flatten()[0]) < 1  # DDIM: sqrt(alpha_bar)


def test_fallback_without_x0():
    from diffusers import DPMSolverMultistepScheduler

    pipe = tiny_animatediff_pipeline()
    pipe.set_progress_bar_config(disable=True)
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
    cb = CameraWarp(CameraMove('right', 'slow'), t_m=2)
    pipe(
        prompt='a pan',
        num_frames=3,
        height=16,
        width=16,
        num_inference_steps=3,
        guidance_scale=1.0,
        output_type='pt',
        callback_on_step_end=cb,
        callback_on_step_end_tensor_inputs=['latents'],
    )
    assert cb.applied == 'latents'
    assert 'step' not in vars(pipe.scheduler)


def test_unknown_pipeline_and_bad_args():
    with pytest.raises(InputError, match='layout'):
        video_family_of(object())
    with pytest.raises(InputError, match='t_m'):
        CameraWarp(CameraMove('left'), t_m=0)
    with pytest.raises(InputError, match='blend'):
        CameraWarp(CameraMove('left'), blend=2)


@pytest.mark.parametrize('direction', ['static', 'left', 'right', 'up', 'down', 'forward', 'backward'])
def test_measured_direction_of_a_warped_texture(direction):
    g = torch.Generator().manual_seed(1)
    tex = torch.nn.functional.interpolate(torch.randn(1, 3, 8, 8, generator=g), size=(48, 48), mode='bicubic')
    clip = warp_frames(tex[:, None].repeat(1, 6, 1, 1, 1), CameraMove(direction, 'slow'))
    m = np.median(estimate_motion(list(clip[0])), axis=0)
    assert classify_motion(m) == direction


def test_speeds_are_per_second_of_video():
    "The same move covers the same fraction of the frame per second at any fps; zoom is log scale per second."
    for fps in (4, 8, 24):
        for d, axis in (('left', 0), ('down', 1), ('backward', 2)):
            per_second = np.array(content_motion(CameraMove(d, 'medium'), fps=fps)) * fps
            assert abs(abs(per_second[axis]) - CAMERA_SPEED['medium']) < 1e-9
    assert CAMERA_SPEED['slow'] < CAMERA_SPEED['medium'] < CAMERA_SPEED['fast']
    with pytest.raises(InputError, match='fps'):
        CameraWarp(CameraMove('left'), fps=0)


def test_warp_fps_and_latent_stride():
    "A clip at 16 fps moves half as far per frame as at 8 fps; a latent frame that holds 4 video frames moves 4 steps."
    g = torch.Generator().manual_seed(2)
    tex = torch.nn.functional.interpolate(torch.randn(1, 1, 8, 8, generator=g), size=(64, 64), mode='bicubic')
    clip = tex[:, None].repeat(1, 5, 1, 1, 1)
    step = lambda **kw: np.median(estimate_motion(list(warp_frames(clip, CameraMove('left', 'fast'), **kw)[0])), 0)[0]
    assert abs(step(fps=8) - 0.25 / 8) < 0.003 and abs(step(fps=16) - 0.25 / 16) < 0.003
    assert abs(step(fps=8, stride=4) - 4 * 0.25 / 8) < 0.01


def test_cogvideox_like_stride_inside_the_callback():
    "CameraWarp reads the temporal compression of the pipeline's VAE and moves latent frames by it."
    from types import SimpleNamespace
    from diffusers import DDIMScheduler

    sched = DDIMScheduler(beta_schedule='scaled_linear', clip_sample=False, set_alpha_to_one=True, steps_offset=1)
    sched.set_timesteps(4)
    pipe = SimpleNamespace(scheduler=sched, vae_scale_factor_temporal=4)
    x0 = torch.randn(1, 3, 2, 16, 16, generator=torch.Generator().manual_seed(0))  # (B, F, C, H, W) latent frames
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(1))
    cb = CameraWarp(CameraMove('up', 'fast'), t_m=2, blend=1.0, layout='BFCHW')
    x = sched.add_noise(x0, eps, sched.timesteps[:1])
    for i, t in enumerate(sched.timesteps):
        x = cb(pipe, i, t, {'latents': sched.step(eps, t, x).prev_sample})['latents']
    assert cb.applied == 'x0'
    assert torch.allclose(x, warp_frames(x0, cb.move, stride=4), atol=1e-3)
    assert not torch.allclose(x, warp_frames(x0, cb.move, stride=1), atol=1e-3)
