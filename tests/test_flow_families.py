"Every method on the flow-matching families (SD3, FLUX: tiny, random, built offline), end to end through `generate`."

import json

import pytest
import torch

from conftest import crashing_at
from msvid.core.records import InputError, Step, Task
from msvid.models.families.registry import family_of
from msvid.models.presets import resolve_config
from msvid.pipeline.generate import generate
from msvid.testing import tiny_flux_pipeline, tiny_sana_pipeline, tiny_sd3_pipeline

TASK = Task(
    'Omelette', [Step('Crack two eggs into a bowl.'), Step('Whisk the eggs.'), Step('Pour the eggs into the pan.')]
)
SIZE = dict(height=16, width=16, num_inference_steps=4, window=[1, 2], select_at=2, scene_seconds=0.25)


def _quiet(pipe):
    "`pipe` without progress bars, on one torch thread."
    torch.set_num_threads(1)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope='module')
def sd3():
    return _quiet(tiny_sd3_pipeline(seed=0))


@pytest.mark.parametrize(
    'method', ['independent', 'fixed-seed', 'linear', 'cosed', 'cosed-exhaustive', 'clip-only', 'rolling', 'chain']
)
def test_method_runs_on_sd3(sd3, tmp_path, method):
    "Each method makes every scene on SD3, at the cost it says, and reuses what earlier scenes recorded."
    cfg = resolve_config('toy', 'cpu', method=method, quiet=True, n_fresh=1, **SIZE)
    run = generate(TASK, tmp_path / method, cfg, pipe=sd3)
    scenes = [run.scene(i) for i in range(3)]
    assert all(s.unet_evals > 0 for s in scenes) and (tmp_path / method / 'video.mp4').exists()
    if method == 'cosed':
        sources = {c.mode for s in scenes[1:] for c in s.candidates}
        assert sources & {'resume', 'restart'}, sources  # candidates from recorded latents, on a flow schedule


def test_early_selection_x0_is_the_velocity_estimate(sd3):
    "The tracked x0 after the last step is the final latent (sigma 0), and the row tensors include the pooled ones."
    fam = family_of(sd3)
    assert fam.callback_inputs() == ['latents', 'prompt_embeds', 'pooled_prompt_embeds']
    seen = []
    with fam.tracking_x0() as track:
        cb = lambda p, i, t, kw: (seen.append((track.x0.clone(), kw['latents'].clone())), kw)[1]
        fam.text_to_image(['a red pan'], torch.randn(1, 4, 8, 8), 3, 1.0, 16, 16, callback=cb)
    x0, last = seen[-1]
    torch.testing.assert_close(x0, last)


def crashed_and_resumed(tmp_path, pipe, cfg, monkeypatch) -> list[dict]:
    "Run `TASK` whole, and cut by Ctrl-C at scene 3 then resumed; assert the same choices and bytes; the scenes."
    generate(TASK, tmp_path / 'full', cfg, pipe=pipe)
    with crashing_at(monkeypatch, 'cosed'), pytest.raises(KeyboardInterrupt):
        generate(TASK, tmp_path / 'cut', cfg, pipe=pipe)
    generate(TASK, tmp_path / 'cut', cfg, resume=True, pipe=pipe)
    full, cut = (json.loads((tmp_path / n / 'manifest.json').read_text())['scenes'] for n in ('full', 'cut'))
    assert [s['candidates'] for s in full] == [s['candidates'] for s in cut]
    for i in range(3):
        for name in ('keyframe.png', 'latents.safetensors'):
            a, b = (tmp_path / n / f'scenes/{i + 1:02d}' / name for n in ('full', 'cut'))
            assert a.read_bytes() == b.read_bytes(), (i, name)
    return full


def test_cosed_on_sd3_crash_then_resume_is_identical(tmp_path, sd3, monkeypatch):
    "CoSeD on SD3 (early selection, reused latents) cut by Ctrl-C at scene 3 and resumed: the same bytes and choices."
    full = crashed_and_resumed(tmp_path, sd3, resolve_config('toy', 'cpu', quiet=True, n_fresh=1, **SIZE), monkeypatch)
    assert 'resume' in {c['mode'] for c in full[2]['candidates']}  # scene 3 resumes recorded flow latents


@pytest.fixture(scope='module')
def flux():
    return _quiet(tiny_flux_pipeline(seed=0))


@pytest.mark.parametrize('method', ['independent', 'fixed-seed', 'linear', 'cosed', 'cosed-exhaustive', 'chain'])
def test_method_runs_on_flux(flux, tmp_path, method):
    "Each method makes every scene on FLUX's packed latents; CoSeD selects early in two calls."
    cfg = resolve_config('toy', 'cpu', method=method, quiet=True, n_fresh=1, guidance_scale=0.0, **SIZE)
    run = generate(TASK, tmp_path / method, cfg, pipe=flux)
    scenes = [run.scene(i) for i in range(3)]
    assert all(s.unet_evals > 0 for s in scenes)
    if method == 'cosed':  # every candidate runs until select_at, the kept one the rest; no guidance batch
        k = scenes[2].extra['select_at']  # 3: after the resumed candidate's 2 steps and one of its own
        assert k == 3 and scenes[2].unet_evals == k * len(scenes[2].candidates) + (4 - k) * cfg.keep
        assert {c.source_step for c in scenes[2].candidates} - {None}  # reused packed latents of earlier scenes
    if method == 'cosed-exhaustive':  # every candidate runs all 4 steps
        assert scenes[2].unet_evals == 4 * len(scenes[2].candidates)


def test_cosed_on_flux_crash_then_resume_is_identical(tmp_path, flux, monkeypatch):
    "CoSeD on FLUX (early selection in two calls, packed latents reused) cut at scene 3 and resumed: the same bytes."
    cfg = resolve_config('toy', 'cpu', quiet=True, n_fresh=1, guidance_scale=0.0, **SIZE)
    full = crashed_and_resumed(tmp_path, flux, cfg, monkeypatch)
    assert full[2]['extra']['select_at'] == 3 and 'resume' in {c['mode'] for c in full[2]['candidates']}


def test_rolling_on_flux_fills_with_flux_fill(flux, tmp_path):
    "`rolling-deps` on FLUX paints each scene's panel beside the scenes it depends on with FLUX.1 Fill (`--fill-model`)."
    tiny_flux_pipeline(seed=1, fill=True).save_pretrained(tmp_path / 'tiny-flux-fill')  # the name says FLUX Fill
    cfg = resolve_config('toy', 'cpu', method='rolling-deps', quiet=True, guidance_scale=0.0, **SIZE,
                         fill_model=str(tmp_path / 'tiny-flux-fill'))  # fmt: skip
    run = generate(TASK, tmp_path / 'run', cfg, pipe=flux)
    extra = [run.scene(i).extra for i in range(3)]
    assert [e['filler'] for e in extra] == ['FluxFillPipeline'] * 3 and all(e['fill_unet_evals'] == 4 for e in extra)
    assert [e['context'] for e in extra] == [[], [0], [1]] and extra[1]['layout'] == '1x2 panels of 16x16'


def test_rolling_on_flux_paints_with_its_own_inpainting_pipeline(flux, tmp_path):
    "Without `--fill-model`, FLUX paints the canvas with FluxInpaintPipeline on its own weights, counted as its work."
    cfg = resolve_config('toy', 'cpu', method='rolling', quiet=True, guidance_scale=0.0, **SIZE)
    run = generate(TASK, tmp_path / 'r', cfg, pipe=flux)
    scenes = [run.scene(i) for i in range(3)]
    assert [s.extra['filler'] for s in scenes] == ['FluxInpaintPipeline'] * 3
    assert all(s.unet_evals > 0 and 'fill_unet_evals' not in s.extra for s in scenes)  # the run's own transformer


def test_director_on_sd3_reads_an_sd3_state_adapter(tmp_path):
    "An SD3 state adapter for its transformer conditions each keyframe on the director's state; a UNet's is refused."
    from msvid.methods.state_adapter import load_state_adapter, state_conditioning
    from msvid.methods.references import has_ip_adapter
    from msvid.train.adapter import new_sd3_ip_adapter, save_ip_adapter

    pipe = _quiet(tiny_sd3_pipeline(seed=0))
    weights = new_sd3_ip_adapter(pipe.transformer, 512, seed=1)
    weights['ip_adapter'] = {k: torch.randn_like(v) for k, v in weights['ip_adapter'].items()}  # values not zero
    with state_conditioning(pipe, weights):
        save_ip_adapter(pipe.transformer, tmp_path / 'adapter', 'toy')
    info = load_state_adapter(str(tmp_path / 'adapter'), pipe.transformer, 'sd3')[1]
    assert info == {'clip': 'toy', 'image_dim': 512, 'min_noise': 0.0}
    runs = {}
    for scale in (0.0, 1.0):
        cfg = resolve_config('toy', 'cpu', method='director', quiet=True, state_adapter=str(tmp_path / 'adapter'),
                             state_scale=scale, **SIZE)  # fmt: skip
        runs[scale] = generate(TASK, tmp_path / f'director{scale}', cfg, pipe=pipe)
    keyframes = lambda run: [(run.path / run.scene(i).keyframe).read_bytes() for i in range(3)]
    assert all(a != b for a, b in zip(keyframes(runs[0.0]), keyframes(runs[1.0])))  # the state reached every one
    assert not has_ip_adapter(pipe)  # the adapter is taken out after each scene
    cfg = resolve_config('toy', 'cpu', method='director', quiet=True, **SIZE)  # the toy preset's: a UNet's adapter
    with pytest.raises(InputError, match="holds a UNet's plain IP-Adapter, but this model reads an SD3 transformer's"):
        generate(TASK, tmp_path / 'unet-adapter', cfg, pipe=pipe)


def _xlabs_state_adapter(transformer, folder, min_noise: float = 0.0) -> str:
    "A random FLUX state adapter in XLabs' layout reading the toy director's 512-wide states; its folder."
    from safetensors.torch import save_file
    from msvid.methods.state_adapter import LAYOUT_KEYS, flux_adapter_expected

    shapes = flux_adapter_expected({LAYOUT_KEYS['flux']: ((1, 1), 'float32')}, 'x', 512, transformer)
    torch.manual_seed(1)
    folder.mkdir()
    save_file({k: torch.randn(s) * 0.1 for k, (s, _) in shapes.items()}, folder / 'ip-adapter.safetensors')
    (folder / 'adapter.json').write_text(json.dumps({'clip': 'toy', 'image_dim': 512, 'min_noise': min_noise}))
    return str(folder)


@pytest.mark.parametrize('method', ['director', 'director-rolling'])
def test_director_on_flux_reads_an_xlabs_state_adapter(tmp_path, method):
    "FLUX's director states go through an adapter in XLabs' layout: the state reaches every keyframe, then it is gone."
    from msvid.methods.references import has_ip_adapter

    pipe = _quiet(tiny_flux_pipeline(seed=0))
    adapter, runs = _xlabs_state_adapter(pipe.transformer, tmp_path / 'adapter'), {}
    for scale in (0.0, 1.0):
        cfg = resolve_config('toy', 'cpu', method=method, quiet=True, guidance_scale=0.0, state_adapter=adapter,
                             state_scale=scale, **SIZE)  # fmt: skip
        runs[scale] = generate(TASK, tmp_path / f'director{scale}', cfg, pipe=pipe)
    keyframes = lambda run: [(run.path / run.scene(i).keyframe).read_bytes() for i in range(3)]
    assert all(a != b for a, b in zip(keyframes(runs[0.0]), keyframes(runs[1.0])))  # the state reached every one
    assert not has_ip_adapter(pipe)


def test_a_flux_state_adapter_is_gated_in_flux_timesteps(tmp_path):
    "FLUX calls its transformer with sigma, not sigma x 1000: an adapter trained above noise 0.5 acts on the early steps."
    from msvid.methods.state_adapter import load_state_adapter, state_conditioning, state_kwargs

    pipe = _quiet(tiny_flux_pipeline(seed=0))
    weights, info = load_state_adapter(_xlabs_state_adapter(pipe.transformer, tmp_path / 'a', 0.5), pipe.transformer,
                                       'flux')  # fmt: skip
    seen = []
    with state_conditioning(pipe, weights, 0.8, info['min_noise']):
        proc = next(p for p in pipe.transformer.attn_processors.values() if hasattr(p, 'scale'))
        probe = pipe.transformer.register_forward_pre_hook(lambda m, a: seen.append(proc.scale[0]))  # after the gate
        pipe('a red pan', num_inference_steps=6, height=16, width=16, guidance_scale=0.0, output_type='latent',
             **state_kwargs(torch.ones(512), pipe, 0.0, 'flux'))  # fmt: skip
        probe.remove()
    assert seen[0] == 0.8 and seen[-1] == 0.0 and seen == sorted(seen, reverse=True), seen


def test_director_is_refused_before_any_weights_load(capsys, tmp_path, monkeypatch):
    "Qwen-Image has no state-adapter layout: its family comes from model_index.json alone, before any weights load."
    import msvid.pipeline.generate as gen
    from conftest import refused
    from msvid.testing import tiny_qwen_image_pipeline

    tiny_qwen_image_pipeline(seed=0).save_pretrained(tmp_path / 'qwen')
    capsys.readouterr()  # the save's progress bar is not the command's output
    monkeypatch.setattr(gen, 'pipeline_for', lambda cfg: pytest.fail('the pipeline was loaded'))
    err = refused(capsys, 'generate', 'example:toy-kitchen', '--model', tmp_path / 'qwen', '--method', 'director',
                  '--out', tmp_path / 'r', '--quiet', message="method 'director' on QwenImage: ")  # fmt: skip
    assert 'no state-adapter layout' in err and not (tmp_path / 'r').exists()


def test_ip_refs_on_sd3_without_an_adapter_says_which_flag(sd3, tmp_path):
    "The line names an adapter for SD3.5 (not a UNet's), here and from the command line before any weights load."
    from msvid.pipeline.generate import check_weights

    cfg = resolve_config('toy', 'cpu', method='ip-refs', quiet=True, **SIZE)
    with pytest.raises(InputError, match="needs an IP-Adapter: give --ip-adapter, e.g. guiyrt/InstantX-SD3.5") as e:
        generate(TASK, tmp_path / 'ip', cfg, pipe=sd3)
    assert '\n' not in str(e.value)
    with pytest.raises(InputError, match="e.g. guiyrt/InstantX-SD3.5-Large-IP-Adapter-diffusers:ip-adapter"):
        check_weights(resolve_config('toy-flow', 'cpu', method='ip-refs'))
    with pytest.raises(InputError, match="e.g. h94/IP-Adapter:models/ip-adapter_sd15"):
        check_weights(resolve_config('toy', 'cpu', method='ip-refs'))


def test_ip_refs_on_sd3_reads_an_sd35_ip_adapter(tmp_path):
    """ip-refs on SD3.5: an IP-Adapter in diffusers' layout and its SigLIP vision model; the references change the
    keyframes, one reference image per scene (what the adapter reads)."""
    from msvid.methods.references import has_ip_adapter
    from msvid.testing_parts import tiny_sd3_ip_adapter

    pipe = _quiet(tiny_sd3_pipeline(seed=0))  # its own: loading an adapter changes the transformer
    spec, encoder = tiny_sd3_ip_adapter(pipe.transformer, tmp_path / 'ip')
    runs = {}
    for scale in (0.6, 0.0):
        cfg = resolve_config('toy', 'cpu', method='ip-refs', quiet=True, ip_adapter=spec, ip_image_encoder=encoder,
                             ip_adapter_scale=scale, **SIZE)  # fmt: skip
        runs[scale] = generate(TASK, tmp_path / f'r{scale}', cfg, pipe=pipe)
    assert has_ip_adapter(pipe) and type(pipe.image_encoder).__name__ == 'SiglipVisionModel'
    scenes = [runs[0.6].scene(i) for i in range(3)]
    assert all(len(s.extra['references']) == 1 and s.extra['ip_adapter_scale'] == 0.6 for s in scenes)
    keyframes = lambda run: [(run.path / run.scene(i).keyframe).read_bytes() for i in range(3)]
    assert keyframes(runs[0.6]) != keyframes(runs[0.0])


@pytest.fixture(scope='module')
def sana():
    return _quiet(tiny_sana_pipeline(seed=0))


SANA_SIZE = {**SIZE, 'height': 32, 'width': 32}  # Sana's smallest image


@pytest.mark.parametrize('method', ['independent', 'fixed-seed', 'linear', 'cosed', 'cosed-exhaustive', 'clip-only',
                                    'rolling'])  # fmt: skip
def test_method_runs_on_sana(sana, tmp_path, method):
    "Each method makes every scene on Sana; CoSeD selects early in two calls (its text mask fixes the batch)."
    cfg = resolve_config('toy', 'cpu', method=method, quiet=True, n_fresh=1, **SANA_SIZE)
    run = generate(TASK, tmp_path / method, cfg, pipe=sana)
    scenes = [run.scene(i) for i in range(3)]
    assert all(s.unet_evals > 0 for s in scenes)
    if method == 'cosed':  # guidance doubles every row; every candidate until select_at, the kept one the rest
        k = scenes[2].extra['select_at']
        assert scenes[2].unet_evals == 2 * (k * len(scenes[2].candidates) + (4 - k) * cfg.keep)


def test_chain_on_sana_is_refused_in_one_line(sana, tmp_path):
    cfg = resolve_config('toy', 'cpu', method='chain', quiet=True, **SANA_SIZE)
    with pytest.raises(InputError, match='Sana: diffusers has no image-to-image pipeline for SanaPipeline'):
        generate(TASK, tmp_path / 'c', cfg, pipe=sana)


def test_cosed_on_sana_with_its_dpm_solver_says_which_scheduler(tmp_path):
    "Sana's own multistep DPM-Solver cannot resume a latent mid-schedule: one line names the scheduler to use."
    from diffusers import DPMSolverMultistepScheduler

    pipe = _quiet(tiny_sana_pipeline(seed=0))
    pipe.scheduler = DPMSolverMultistepScheduler(
        use_flow_sigmas=True, flow_shift=3.0, prediction_type='flow_prediction'
    )
    cfg = resolve_config('toy', 'cpu', quiet=True, n_fresh=1, **SANA_SIZE)
    with pytest.raises(InputError, match='use --scheduler FlowMatchEulerDiscreteScheduler or --reuse-mode restart'):
        generate(TASK, tmp_path / 'd', cfg, pipe=pipe)


def test_flux_schnell_preset_runs_on_tiny_flux(tmp_path):
    "The `flux-schnell` preset's own settings (4 steps, no guidance, 256 T5 tokens) drive tiny FLUX end to end."
    from msvid.models.families.base import set_call_defaults

    cfg = resolve_config(
        'flux-schnell',
        'cpu',
        clip='toy',
        caption_backend='offline',
        quiet=True,
        height=16,
        width=16,
        scene_seconds=0.25,
    )  # fmt: skip  (the toy CLIP and the tracker: no hub here)
    pipe = _quiet(tiny_flux_pipeline(seed=0))
    set_call_defaults(pipe, max_sequence_length=cfg.max_sequence_length)  # as `pipeline_for` does
    seen = []
    spy = pipe.encode_prompt
    pipe.encode_prompt = lambda *a, **kw: (seen.append(kw.get('max_sequence_length')), spy(*a, **kw))[1]
    run = generate(TASK, tmp_path / 'run', cfg, pipe=pipe)
    assert (cfg.num_inference_steps, cfg.guidance_scale, cfg.window) == (4, 0.0, [3])
    assert set(seen) == {256} and all(run.scene(i).unet_evals > 0 for i in range(3))


def test_ip_refs_on_flux_reads_an_xlabs_ip_adapter(tmp_path):
    "ip-refs on FLUX: an IP-Adapter in XLabs' layout and its CLIP vision model; the references change the keyframes."
    from msvid.methods.references import has_ip_adapter
    from msvid.testing_parts import tiny_flux_ip_adapter

    pipe = _quiet(tiny_flux_pipeline(seed=0))  # its own: loading an adapter changes the transformer
    spec, encoder = tiny_flux_ip_adapter(pipe.transformer, tmp_path / 'ip')
    runs = {}
    for scale in (0.6, 0.0):
        cfg = resolve_config('toy', 'cpu', method='ip-refs', quiet=True, guidance_scale=0.0, ip_adapter=spec,
                             ip_image_encoder=encoder, ip_adapter_scale=scale, **SIZE)  # fmt: skip
        runs[scale] = generate(TASK, tmp_path / f'r{scale}', cfg, pipe=pipe)
    assert has_ip_adapter(pipe) and type(pipe.image_encoder).__name__ == 'CLIPVisionModelWithProjection'
    scenes = [runs[0.6].scene(i) for i in range(3)]
    assert all(s.extra['references'] and s.extra['ip_adapter_scale'] == 0.6 for s in scenes)
    keyframes = lambda run: [(run.path / run.scene(i).keyframe).read_bytes() for i in range(3)]
    assert keyframes(runs[0.6]) != keyframes(runs[0.0])


def test_an_ip_adapter_for_another_transformer_is_one_line(tmp_path):
    "SD3.5 Large's adapter on another SD3 transformer (Medium, say) says so, instead of a KeyError."
    from diffusers import SD3Transformer2DModel
    from msvid.methods.references import load_ip_adapter
    from msvid.testing_parts import tiny_sd3_ip_adapter

    other = SD3Transformer2DModel(sample_size=8, patch_size=1, in_channels=4, out_channels=4, num_layers=2,
                                  attention_head_dim=8, num_attention_heads=2, joint_attention_dim=32,
                                  caption_projection_dim=16, pooled_projection_dim=32)  # fmt: skip
    spec, encoder = tiny_sd3_ip_adapter(other, tmp_path / 'ip')
    with pytest.raises(InputError, match=r'does not fit this transformer \(1 blocks of width 32\)') as e:
        load_ip_adapter(_quiet(tiny_sd3_pipeline(seed=0)), spec, 0.6, encoder)
    assert '\n' not in str(e.value)

