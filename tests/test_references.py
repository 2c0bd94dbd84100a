"Entity references: common entities, masks, user photos, and both conditionings on tiny components."

import json

import numpy as np
from PIL import Image

from msvid.cli import main
from msvid.core.records import SceneScript
from msvid.methods.references import common_entities, saliency_mask, split_reference, toy_mask


def test_common_entities_and_split():
    sc = [
        SceneScript(0, '', 'a pan', ['pan'], 'stove'),
        SceneScript(1, '', 'a pan on a stove', ['pan'], 'stove'),
        SceneScript(2, '', 'a bowl', ['bowl'], 'counter'),
    ]
    assert [(e.name, e.kind, e.scenes) for e in common_entities(sc)] == [
        ('pan', 'foreground', [0, 1]),
        ('stove', 'background', [0, 1]),
    ]
    from msvid.toy.tasks import make_task
    from msvid.toy.render import render

    st = make_task(1).states[0]
    img, m = render(st), toy_mask(st)
    fg, bg = split_reference(img, m)
    assert (np.asarray(fg)[~m] == 255).all() and (np.asarray(bg)[~m] == np.asarray(img)[~m]).all()
    assert saliency_mask(img).shape == m.shape


def test_rolling_refs_with_user_photo(tmp_path, tiny_model_dir):
    Image.new('RGB', (20, 20), (250, 10, 10)).save(tmp_path / 'pan.png')
    task = {
        'title': 'Pan',
        'steps': ['Heat the red pan.', 'Chop an onion.', 'Fry the onion in the red pan.'],
        'meta': {'references': {'red pan': str(tmp_path / 'pan.png')}},
    }
    (tmp_path / 't.json').write_text(json.dumps(task))
    args = [
        'generate',
        str(tmp_path / 't.json'),
        '--out',
        str(tmp_path / 'r'),
        '--model',
        str(tiny_model_dir),
        '--method',
        'rolling-refs',
        '--size',
        '16',
        '--steps',
        '4',
        '--quiet',
        '--device',
        'cpu',
        '--scene-seconds',
        '0.25',
    ]
    assert main(args) == 0
    m = json.loads((tmp_path / 'r' / 'manifest.json').read_text())
    names = [e for s in m['scenes'] for e in s['script']['entities']]
    assert 'red pan' in names
    refs = sorted(p.name for p in (tmp_path / 'r' / 'references').glob('*_image.png'))
    assert refs and refs[0].startswith('00_foreground')
    ref = np.asarray(Image.open(tmp_path / 'r' / 'references' / refs[0]))
    assert (ref == np.asarray(Image.new('RGB', (16, 16), (250, 10, 10)))).all()  # the user's photo, resized
    task['meta']['references'] = {'blue kettle': str(tmp_path / 'pan.png')}
    (tmp_path / 't.json').write_text(json.dumps(task))
    args[args.index('--out') + 1] = str(tmp_path / 'r2')
    assert main(args) == 2


def test_ip_refs_from_the_command_line(tmp_path, tiny_model_dir):
    "`--method ip-refs --ip-adapter SPEC`: the adapter is loaded like any model, safetensors only (tiny random one)."
    import torch
    from diffusers import UNet2DConditionModel
    from msvid.testing_parts import tiny_ip_adapter

    unet = UNet2DConditionModel.from_pretrained(tiny_model_dir / 'unet', dtype=torch.float32)
    spec = tiny_ip_adapter(unet, tmp_path / 'ip')
    task = {'title': 'Pan', 'steps': ['Heat the red pan.', 'Chop an onion.', 'Fry the onion in the red pan.']}
    (tmp_path / 't.json').write_text(json.dumps(task))
    args = ['generate', str(tmp_path / 't.json'), '--out', str(tmp_path / 'r'), '--model', str(tiny_model_dir)]
    args += ['--method', 'ip-refs', '--size', '16', '--steps', '3', '--quiet', '--device', 'cpu']
    args += ['--scene-seconds', '0.25', '--ip-adapter-scale', '0.8']
    assert main(args + ['--ip-adapter', spec]) == 0
    m = json.loads((tmp_path / 'r' / 'manifest.json').read_text())
    assert m['config']['ip_adapter'] == spec and m['config']['ip_adapter_scale'] == 0.8
    scales = [s['extra']['ip_adapter_scale'] for s in m['scenes']]
    assert 0.8 in scales and set(scales) <= {0.0, 0.8}  # scenes with a shared entity are conditioned
    assert main(args + ['--out', str(tmp_path / 'r2'), '--ip-adapter', spec.replace('.safetensors', '.bin')]) == 2
    assert main(args + ['--out', str(tmp_path / 'r3'), '--ip-adapter', f'{tmp_path}/none:models/ip.safetensors']) == 2
    assert not (tmp_path / 'r2').exists() and not (tmp_path / 'r3').exists()


def test_a_benchmark_makes_each_task_its_own_references(tmp_path, tiny_model_dir):
    "Models are shared across the runs of a benchmark, references are not: task 2 gets references of its entities."
    from msvid.eval.bench import run_bench, toy_suite
    from msvid.io.rundir import read_manifest
    from msvid.models.presets import resolve_config
    from msvid.script.decode import decode

    tasks = toy_suite(2, seed=1, n_steps=3)
    cfg = resolve_config('toy', device='cpu', model=str(tiny_model_dir), height=16, width=16,
                         num_inference_steps=2, quiet=True)  # fmt: skip
    run_bench(tasks, ['rolling-refs'], tmp_path, cfg, quiet=True)
    for k, task in enumerate(tasks):
        run = tmp_path / 'runs' / 'rolling-refs' / f'{k:04d}'
        entities = common_entities(decode(task, 'offline'))
        assert len(list((run / 'references').glob('*.png'))) == 3 * len(entities), k
        assert read_manifest(run)['status'] == 'complete'
    first, second = ([e.name for e in common_entities(decode(t, 'offline'))] for t in tasks)
    assert first != second  # the two tasks do need different references
