"""The `director` and `director-rolling` methods: keyframes conditioned on the director's predicted visual states
through an IP-Adapter, on the real-model path (a tiny Stable Diffusion, a published-layout IP-Adapter with its CLIP
image encoder, a tiny director) and on the toy preset."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from conftest import crashing_at, load_benchmark
from msvid.cli import main
from msvid.script.director import DirectorConfig, load_director, predict, save_director, tiny_director

TASK = {'title': 'Pan', 'steps': ['Heat the red pan.', 'Chop an onion.', 'Fry the onion in the red pan.']}


@pytest.fixture(scope='module')
def real_parts(tiny_model_dir, tmp_path_factory):
    "(IP-Adapter spec, director folder of 8-wide states, director folder of 16-wide states) for the tiny SD."
    from diffusers import UNet2DConditionModel
    from msvid.testing_parts import tiny_ip_adapter

    tmp = tmp_path_factory.mktemp('director-real')
    unet = UNet2DConditionModel.from_pretrained(tiny_model_dir / 'unet', dtype=torch.float32)
    spec = tiny_ip_adapter(unet, tmp / 'ip')  # reads 8-wide embeddings of its own CLIP image encoder
    for dim in (8, 16):
        save_director(tiny_director(TASK['steps'], DirectorConfig(clip_dim=dim, n_query=2), 16, 1), tmp / f'd{dim}')
    return spec, tmp / 'd8', tmp / 'd16'


def _args(tmp_path, tiny_model_dir, out: str, *more) -> list[str]:
    (tmp_path / 't.json').write_text(json.dumps(TASK))
    args = ['generate', str(tmp_path / 't.json'), '--out', str(tmp_path / out), '--model', str(tiny_model_dir)]
    return args + ['--size', '16', '--steps', '3', '--quiet', '--device', 'cpu', '--scene-seconds', '0.25', *more]


@pytest.mark.parametrize('method', ['director', 'director-rolling'])
def test_real_path_records_states(tmp_path, tiny_model_dir, real_parts, method):
    "Each scene stores its predicted state and caption; the state reaches the denoiser (scale 0 draws otherwise)."
    spec, d8, _ = real_parts
    flags = ['--method', method, '--director', str(d8), '--state-adapter', spec]
    assert main(_args(tmp_path, tiny_model_dir, 'r', *flags)) == 0
    m = json.loads((tmp_path / 'r' / 'manifest.json').read_text())
    assert m['config']['director'] == str(d8) and m['config']['state_adapter'] == spec
    for k, s in enumerate(m['scenes']):
        x = s['extra']
        assert isinstance(x['director_caption'], str) and -1 <= x['state_cosine'] <= 1
        assert x['state_clip'] == spec.rpartition(':')[0] + ':models/image_encoder'
        t = load_file(str(tmp_path / 'r' / 'scenes' / f'{k + 1:02d}' / 'latents.safetensors'))
        z, drawn = t['state'], t['drawn_state']
        assert z.shape == drawn.shape == (8,) and abs(float(z.norm()) - 1) < 1e-4
        assert abs(float(drawn @ z) - x['state_cosine']) < 1e-3
    assert main(_args(tmp_path, tiny_model_dir, 'r0', *flags, '--state-scale', '0')) == 0
    key = lambda r, k: np.asarray(Image.open(tmp_path / r / 'scenes' / f'{k + 1:02d}' / 'keyframe.png'), float)
    assert max(np.abs(key('r', k) - key('r0', k)).max() for k in range(3)) > 1  # the state changed the picture


def test_director_noise_picks_the_starting_noise(tmp_path, tiny_model_dir, real_parts):
    "`director_noise='task'` (the default) starts every keyframe from the task seed's noise, 'scene' from its own."
    spec, d8, _ = real_parts
    flags = ['--method', 'director', '--director', str(d8), '--state-adapter', spec]
    seeds = {}
    for noise in ('task', 'scene'):
        assert main(_args(tmp_path, tiny_model_dir, noise, *flags, '--director-noise', noise)) == 0
        m = json.loads((tmp_path / noise / 'manifest.json').read_text())
        seeds[noise] = [s['candidates'][0]['seed'] for s in m['scenes']]
    assert len(set(seeds['task'])) == 1 and len(set(seeds['scene'])) == 3
    assert seeds['task'][0] == seeds['scene'][0]  # scene 1's own seed is the task seed


def test_director_reads_the_history_it_is_told(tmp_path, tiny_model_dir, real_parts):
    "Scene 3's state is what the director predicts from scenes 1-2's drawn embeddings, or from their predicted states."
    spec, d8, _ = real_parts
    d = load_director(str(d8))
    for history, other in (('drawn', 'predicted'), ('predicted', 'drawn')):
        flags = ['--method', 'director', '--director', str(d8), '--state-adapter', spec, '--director-history', history]
        assert main(_args(tmp_path, tiny_model_dir, history, *flags)) == 0
        m = json.loads((tmp_path / history / 'manifest.json').read_text())
        t = [load_file(str(tmp_path / history / 'scenes' / f'{k + 1:02d}' / 'latents.safetensors')) for k in range(3)]
        key = {'drawn': 'drawn_state', 'predicted': 'state'}
        read = lambda h: [
            (TASK['steps'][j], m['scenes'][j]['extra']['director_caption'], t[j][key[h]]) for j in range(2)
        ]
        assert torch.allclose(predict(d, read(history), TASK['steps'][2])[1], t[2]['state'], atol=1e-5)
        assert not torch.allclose(predict(d, read(other), TASK['steps'][2])[1], t[2]['state'], atol=1e-3)


def test_mismatched_or_missing_parts_exit_2(tmp_path, tiny_model_dir, real_parts, capsys):
    "A director whose states the adapter cannot read, or no director at all, is refused with one line."
    spec, _, d16 = real_parts
    assert main(_args(tmp_path, tiny_model_dir, 'r1', '--method', 'director', '--director', str(d16),
                      '--state-adapter', spec)) == 2  # fmt: skip
    assert '16-wide states' in capsys.readouterr().err
    assert (
        main(_args(tmp_path, tiny_model_dir, 'r2', '--method', 'director', '--director', '', '--state-adapter', spec))
        == 2
    )
    assert 'give --director FOLDER' in capsys.readouterr().err
    bin_spec = spec.replace('.safetensors', '.bin')
    assert main(_args(tmp_path, tiny_model_dir, 'r3', '--method', 'director', '--state-adapter', bin_spec)) == 2
    assert 'state_adapter' in capsys.readouterr().err  # refused before anything loads
    assert not any((tmp_path / r).exists() for r in ('r1', 'r2', 'r3'))


def test_toy_director_run_resumes_exactly(tmp_path, monkeypatch):
    "On the toy preset (shipped director and adapter): a run stopped at scene 2 and resumed equals a whole run."
    from msvid.io.taskfile import load_task
    from msvid.models.presets import resolve_config
    from msvid.pipeline.generate import generate

    task = load_task('example:toy-kitchen')
    cfg = resolve_config('toy', 'cpu', method='director', quiet=True, num_inference_steps=8)
    whole = generate(task, tmp_path / 'whole', cfg)
    with crashing_at(monkeypatch, 'director'), pytest.raises(KeyboardInterrupt):
        generate(task, tmp_path / 'part', cfg)
    part = generate(task, tmp_path / 'part', cfg, resume=True)
    a, b = whole.read()['scenes'], part.read()['scenes']
    assert [s['extra']['director_caption'] for s in a] == [s['extra']['director_caption'] for s in b]
    for k in range(len(a)):
        im = lambda r: np.asarray(Image.open(tmp_path / r / 'scenes' / f'{k + 1:02d}' / 'keyframe.png'))
        assert (im('whole') == im('part')).all()
    cos = [s['extra']['state_cosine'] for s in a]
    assert np.mean(cos) > 0.5, cos  # the shipped adapter draws what the state shows


def test_state_consistency_reads_true_renders_as_consistent(tmp_path, monkeypatch):
    "benchmarks/state_consistency.py on a run whose keyframes are the true renders: read as the truth, scene by scene."
    from safetensors.torch import save_file

    from msvid.models.encoders import load_clip
    from msvid.toy.render import render
    from msvid.toy.tasks import make_task, toy_task_dict

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / 'benchmarks'))
    bench = load_benchmark('state_consistency')
    clip = load_clip('toy')
    heads = bench.readouts(clip, 600, seed=5)
    scores, counts = [], []
    for seed in (31, 32):
        world = make_task(seed)
        run = tmp_path / f'run{seed}'
        ims = [render(s) for s in world.states]
        z = clip.images(ims)
        for i, im in enumerate(ims):
            scene = run / 'scenes' / f'{i + 1:02d}'
            scene.mkdir(parents=True)
            im.save(scene / 'keyframe.png')
            save_file({'state': z[i].contiguous()}, str(scene / 'latents.safetensors'))
        (run / 'manifest.json').write_text(json.dumps({'task': toy_task_dict(world)}))
        pairs = bench.run_pairs(run, heads, clip)
        gt = toy_task_dict(world)['meta']['toyworld']['steps']
        counts.append(sum(g['attributes'][k] == gt[d]['attributes'][k] for g in gt for d in g['depends_on']
                          for k in bench.PERSISTENT))  # fmt: skip
        assert pairs['true renders'] == pairs['keyframes drawn']  # the same pictures, scene for scene
        assert [p[0] for p in pairs['predicted states']] == [p[0] for p in pairs['true renders']]
        assert len(pairs['true renders']) == counts[-1]
        scores += [s for _, s in pairs['true renders']]
    assert sum(counts) > 10 and np.mean(scores) > 0.7, (counts, np.mean(scores))
