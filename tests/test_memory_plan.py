"""Issue #30: runs use the memory plan. A real preset on a CUDA GPU takes each stage's precision, placement and
quantization from `msvid.models.plan` for that GPU and the run's size; a flag wins; a toy preset is not planned;
NF4 reaches diffusers' loader and is refused in one line where bitsandbytes cannot run; the manifest records it."""

import json

import pytest
import torch

import msvid.models.presets as presets
from conftest import refused
from msvid.core.config import RunConfig
from msvid.models.memory import FRUGAL, plan_settings
from msvid.models.plan import GPU, GPUS, plan_run, run_shape

torch.set_num_threads(1)
FAST = ['--size', '16', '--steps', '2', '--quiet', '--device', 'cpu', '--scene-seconds', '0.25']


@pytest.fixture
def found(monkeypatch):
    "A CUDA device that reports the GPU the test sets (`found(GPUS['t4'])`)."

    def place(gpu):
        monkeypatch.setattr(presets, 'resolve_device', lambda device: 'cuda')
        monkeypatch.setattr(presets, 'cuda_gpu', lambda device: gpu)

    return place


def test_a_t4_gets_the_plan_for_its_run(found):
    found(GPUS['t4'])
    c = presets.resolve_config('sdxl', 'cuda', shots=True, video_model='svd')
    plan = plan_settings(plan_run(presets.PRESETS['sdxl'], 'svd', GPUS['t4'], run_shape(c)))
    assert {k: c.to_dict()[k] for k in plan} == plan
    assert (c.dtype, c.video_dtype, c.decode_chunk_size) == ('float16', 'float16', 2)  # no bfloat16 on a T4
    flux = presets.resolve_config('flux-schnell', 'cuda')
    assert (flux.dtype, flux.quantize) == ('float16', 'nf4')  # 12B parameters: 4 bits on a T4


def test_the_plan_follows_the_gpu_and_the_run(found):
    found(GPUS['a100'])
    assert presets.resolve_config('flux-schnell', 'cuda').quantize == 'none'
    assert presets.resolve_config('sd35-medium', 'cuda').dtype == 'bfloat16'  # native on an A100
    found(GPUS['t4'])
    small = presets.resolve_config('sdxl', 'cuda', max_candidates=1, height=512, width=512)
    assert run_shape(small).rows == 2  # one candidate under guidance, at the size the run asks for


def test_a_flag_wins_over_the_plan(found):
    found(GPUS['t4'])
    c = presets.resolve_config('flux-schnell', 'cuda', quantize='none', placement='sequential-offload')
    assert (c.quantize, c.placement, c.dtype) == ('none', 'sequential-offload', 'float16')


def test_toy_presets_and_cpus_are_not_planned(found):
    assert presets.resolve_config('sdxl', 'cpu').to_dict()['placement'] == 'gpu'
    found(GPUS['t4'])
    c = presets.resolve_config('toy', 'cuda')
    assert (c.dtype, c.placement, c.quantize) == ('float32', 'gpu', 'none')


def test_a_run_that_fits_no_placement_warns_and_tries_the_most_frugal(found):
    found(GPU('small', 4.0, 8.0, True))
    with pytest.warns(UserWarning, match='does not fit'):
        c = presets.resolve_config('flux-schnell', 'cuda', shots=True, video_model='wan2.1-i2v')
    assert {k: c.to_dict()[k] for k in FRUGAL} == FRUGAL


def test_nf4_reaches_diffusers_loader(monkeypatch, tiny_model_dir):
    "load_pipeline hands the plan's quantization config to from_pretrained (bitsandbytes itself needs CUDA)."
    import diffusers

    import msvid.models.pipelines as pipelines

    seen = {}
    real = diffusers.StableDiffusionPipeline.from_pretrained.__func__

    def spy(cls, path, **kw):
        seen.update(kw)
        return real(cls, path, **{k: v for k, v in kw.items() if k != 'quantization_config'})

    monkeypatch.setattr(pipelines, 'quantization_config', lambda index, q, device, dtype: ('config for', q, dtype))
    monkeypatch.setattr(diffusers.StableDiffusionPipeline, 'from_pretrained', classmethod(spy))
    pipe = pipelines.load_pipeline(str(tiny_model_dir), 'cpu', quantize='nf4', placement='model-offload')
    assert seen['quantization_config'] == ('config for', 'nf4', 'float32') and pipe.device.type == 'cpu'


def test_nf4_off_cuda_is_one_line(capfd, tmp_path, task_file):
    refused(capfd, 'generate', task_file, '--out', tmp_path / 'run', *FAST, '--quantize', 'nf4',
            message='bitsandbytes needs a CUDA GPU')  # fmt: skip


def test_the_manifest_records_the_placement(capfd, tmp_path, task_file):
    from conftest import run_cli

    code, _, err, _ = run_cli(capfd, 'generate', task_file, '--out', tmp_path / 'run', *FAST, '--method', 'independent')
    assert code == 0, err
    config = json.loads((tmp_path / 'run' / 'manifest.json').read_text())['config']
    assert (config['placement'], config['quantize'], config['vae_tiling']) == ('gpu', 'none', False)


def test_an_older_manifest_with_offload_still_reads():
    "`offload` (before the plan) never changed an image: a manifest that has it resumes as the same run."
    old = {**RunConfig().to_dict(), 'offload': True}
    old.pop('placement')
    assert RunConfig.from_dict(old) == RunConfig()
