"Every method on Qwen-Image (tiny, random, built offline): packed latents, a one-frame video autoencoder, true CFG."

import pytest
import torch

from conftest import crashing_at
from msvid.core.records import InputError, Step, Task
from msvid.models.presets import resolve_config
from msvid.pipeline.generate import generate
from msvid.testing import tiny_qwen_image_pipeline
from test_flow_families import crashed_and_resumed

TASK = Task(
    'Omelette', [Step('Crack two eggs into a bowl.'), Step('Whisk the eggs.'), Step('Pour the eggs into the pan.')]
)
SIZE = dict(height=32, width=32, num_inference_steps=4, window=[1, 2], select_at=2, scene_seconds=0.25)


@pytest.fixture(scope='module')
def qwen():
    torch.set_num_threads(1)
    pipe = tiny_qwen_image_pipeline(seed=0)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.mark.parametrize('method', ['independent', 'fixed-seed', 'linear', 'cosed', 'cosed-exhaustive', 'clip-only',
                                    'chain'])  # fmt: skip
def test_method_runs_on_qwen_image(qwen, tmp_path, method):
    "Each method makes every scene; guidance is true CFG (two passes a step); CoSeD selects early in two calls."
    cfg = resolve_config('toy', 'cpu', method=method, quiet=True, n_fresh=1, guidance_scale=4.0, **SIZE)
    run = generate(TASK, tmp_path / method, cfg, pipe=qwen)
    scenes = [run.scene(i) for i in range(3)]
    assert all(s.unet_evals > 0 for s in scenes) and (tmp_path / method / 'video.mp4').exists()
    if method == 'independent':
        assert [s.unet_evals for s in scenes] == [2 * 4] * 3  # one image, 4 steps, a negative pass each
    if method == 'cosed':  # every candidate runs until select_at, the kept one the rest; a negative pass each
        k = scenes[2].extra['select_at']
        assert scenes[2].unet_evals == 2 * (k * len(scenes[2].candidates) + (4 - k) * cfg.keep)
        assert {c.source_step for c in scenes[2].candidates} - {None}  # reused packed latents of earlier scenes


def test_cosed_on_qwen_image_crash_then_resume_is_identical(tmp_path, qwen, monkeypatch):
    "CoSeD on Qwen-Image cut by Ctrl-C at scene 3 and resumed: the same choices and bytes."
    cfg = resolve_config('toy', 'cpu', quiet=True, n_fresh=1, guidance_scale=4.0, **SIZE)
    full = crashed_and_resumed(tmp_path, qwen, cfg, monkeypatch)
    assert 'resume' in {c['mode'] for c in full[2]['candidates']}


def test_rolling_on_qwen_image_fills_with_its_inpainting_pipeline(qwen, tmp_path):
    "`rolling-deps` paints each panel with QwenImageInpaintPipeline on the run's own weights, its true CFG included."
    cfg = resolve_config('toy', 'cpu', method='rolling-deps', quiet=True, guidance_scale=4.0, **SIZE)
    run = generate(TASK, tmp_path / 'run', cfg, pipe=qwen)
    scenes = [run.scene(i) for i in range(3)]
    assert [s.extra['filler'] for s in scenes] == ['QwenImageInpaintPipeline'] * 3
    assert [s.extra['context'] for s in scenes] == [[], [0], [1]] and scenes[1].extra['layout'] == '1x2 panels of 32x32'
    assert [s.unet_evals for s in scenes] == [2 * 4] * 3  # 4 steps at strength 1, a negative pass each


@pytest.mark.parametrize('method,message', [
    ('ip-refs', "method 'ip-refs' on QwenImage: it takes no IP-Adapter msvid loads"),
    ('director', "method 'director' on QwenImage: no state-adapter layout"),
])  # fmt: skip
def test_what_qwen_image_cannot_do_is_one_line(qwen, tmp_path, method, message):
    cfg = resolve_config('toy', 'cpu', method=method, quiet=True, guidance_scale=4.0, **SIZE)
    with pytest.raises(InputError, match=message) as e:
        generate(TASK, tmp_path / method, cfg, pipe=qwen)
    assert '\n' not in str(e.value)


def test_a_legacy_layout_text_encoder_is_read_by_its_names(qwen, tmp_path):
    "Qwen2.5-VL's files use its older names: read through transformers' renaming, whole; one weight short, refused."
    from safetensors.torch import load_file, save_file
    from msvid.models.pipelines import load_pipeline

    qwen.save_pretrained(tmp_path / 'q')
    assert load_pipeline(str(tmp_path / 'q'), quiet=True).text_encoder is not None
    (f,) = (tmp_path / 'q' / 'text_encoder').glob('*.safetensors')
    tensors = load_file(f)
    assert 'model.norm.weight' in tensors and 'model.language_model.norm.weight' not in tensors  # the older names
    del tensors['model.norm.weight']
    save_file(tensors, f, metadata={'format': 'pt'})
    with pytest.raises(InputError, match=r"text_encoder's files lack 1 weight \(language_model.norm.weight\)"):
        load_pipeline(str(tmp_path / 'q'), quiet=True)


def test_qwen_image_preset_runs_on_tiny_qwen_image(qwen, tmp_path, monkeypatch):
    "The `qwen-image` preset's own settings (50 steps, true CFG 4 against ' ') drive tiny Qwen-Image end to end."
    import functools

    cfg = resolve_config('qwen-image', 'cpu', clip='toy', caption_backend='offline', quiet=True, height=32, width=32,
                         scene_seconds=0.25)  # fmt: skip  (the toy CLIP and the tracker: no hub here)
    calls, real = [], type(qwen).__call__

    @functools.wraps(real)  # the same signature: the family reads what the pipeline takes from it
    def spy(self, **kw):
        calls.append(kw)
        return real(self, **kw)

    monkeypatch.setattr(type(qwen), '__call__', spy)
    run = generate(TASK, tmp_path / 'run', cfg, pipe=qwen)
    assert (cfg.num_inference_steps, cfg.guidance_scale) == (50, 4.0)
    assert {(c['true_cfg_scale'], c['negative_prompt'][0]) for c in calls} == {(4.0, ' ')}
    assert all(run.scene(i).unet_evals > 0 for i in range(3))
