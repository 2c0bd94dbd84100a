"""Hostile weights (issue #33): a --model folder, director or state adapter whose weights are empty, partial, extra, integer, NaN,
a pickle, or whose header claims terabytes; configs that would allocate without end; a resumed run whose stored
states were replaced (checksums updated, as a tamperer would). Each exits 2 with exactly one `error:` line within
10 s, and the manifest never holds a NaN. Two identical runs give identical keyframes."""

import hashlib, json, pickle, shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import msvid.cli as cli
from conftest import refused, run_cli as run
from msvid.io.rundir import file_sha256
from msvid.script.director import HEADS, DirectorConfig, save_director, tiny_director

torch.set_num_threads(1)

FAST = ['--size', '16', '--steps', '2', '--quiet', '--device', 'cpu', '--scene-seconds', '0.25']
TASK = {'title': 'Pan', 'steps': ['Heat the red pan.', 'Chop an onion.', 'Fry the onion in the red pan.']}


@pytest.fixture(scope='module')
def parts(tiny_model_dir, tmp_path_factory):
    "(a folder holding the tiny IP-Adapter `ip/` and an 8-wide director `d/`, the task file)."
    from diffusers import UNet2DConditionModel
    from msvid.testing_parts import tiny_ip_adapter

    tmp = tmp_path_factory.mktemp('weights')
    unet = UNet2DConditionModel.from_pretrained(tiny_model_dir / 'unet', dtype=torch.float32)
    tiny_ip_adapter(unet, tmp / 'ip')
    save_director(tiny_director(TASK['steps'], DirectorConfig(clip_dim=8, n_query=2), 16, 1), tmp / 'd')
    (tmp / 't.json').write_text(json.dumps(TASK))
    return tmp


def argv(parts, tiny_model_dir, tmp_path, director, adapter) -> list:
    spec = f'{adapter}:models/ip.safetensors' if (adapter / 'models').is_dir() else str(adapter)
    return ['generate', parts / 't.json', '--out', tmp_path / 'run', '--model', tiny_model_dir, *FAST,
            '--method', 'director', '--director', director, '--state-adapter', spec]  # fmt: skip


def _pickle(path: Path):
    path.write_bytes(pickle.dumps({k: v.numpy() for k, v in load_file(str(path)).items()}))


def _huge_header(path: Path):
    path.write_bytes((10**12).to_bytes(8, 'little') + b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')


def _edit(change):
    "A tamper that rewrites a safetensors file with `change(tensors)`."

    def tamper(path: Path):
        t = load_file(str(path))
        change(t)
        save_file({k: v.contiguous() for k, v in t.items()}, str(path))

    return tamper


def _nan(t):
    k = sorted(t)[0]
    t[k] = t[k].clone()
    t[k].view(-1)[0] = float('nan')


WEIGHTS = {  # name: (tamper of a weights file, what the error line says)
    'empty': (lambda p: p.write_bytes(b''), 'is not a safetensors file (0 bytes)'),
    'missing': (_edit(lambda t: t.pop(sorted(t)[-1])), 'lacks 1 of'),
    'extra': (_edit(lambda t: t.update(smuggled=torch.zeros(3))), 'has 1 unexpected tensor (smuggled)'),
    'int64': (_edit(lambda t: t.update({k: (v * 1000).long() for k, v in t.items()})), 'is int64, expected float32'),
    'nan': (_edit(_nan), 'has NaN or infinite values'),
    'pickle': (_pickle, 'is not a safetensors file'),
    'huge-header': (_huge_header, 'its header claims 1000000000000'),
}


@pytest.mark.parametrize('case', list(WEIGHTS))
def test_director_heads_refused(capsys, parts, tiny_model_dir, tmp_path, case):
    tamper, message = WEIGHTS[case]
    d = shutil.copytree(parts / 'd', tmp_path / 'd')
    tamper(d / HEADS)
    err = refused(capsys, *argv(parts, tiny_model_dir, tmp_path, d, parts / 'ip'), message=message)
    assert f"director '{d}': director.safetensors " in err, err


@pytest.mark.parametrize('case', ['missing', 'int64', 'huge-header'])
def test_director_lm_refused(capsys, parts, tiny_model_dir, tmp_path, case):
    tamper, message = WEIGHTS[case]
    d = shutil.copytree(parts / 'd', tmp_path / 'd')
    tamper(d / 'model.safetensors')
    err = refused(capsys, *argv(parts, tiny_model_dir, tmp_path, d, parts / 'ip'), message=message)
    assert f"director '{d}': model.safetensors " in err, err


CONFIGS = {  # name: (file, edit, what the error line says)
    'no-director-json': ('director.json', None, 'no director.json in the folder'),
    'clip-dim': ('director.json', dict(clip_dim=2 * 10**6), 'director.json clip_dim is 2000000'),
    'caption-tokens': ('director.json', dict(max_caption_tokens=10**6), 'director.json max_caption_tokens is 1000000'),
    'unknown-field': ('director.json', dict(layers=3), 'director.json has unknown fields (layers)'),
    'layers': ('config.json', dict(num_hidden_layers=10**6), 'config.json num_hidden_layers is 1000000'),
    'width': ('config.json', dict(hidden_size=2 * 10**6), 'config.json hidden_size is 2000000'),
    'vocab': ('config.json', dict(vocab_size=10**9), 'config.json vocab_size is 1000000000'),
}


@pytest.mark.parametrize('case', list(CONFIGS))
def test_director_config_bounded(capsys, parts, tiny_model_dir, tmp_path, case):
    name, edit, message = CONFIGS[case]
    d = shutil.copytree(parts / 'd', tmp_path / 'd')
    if edit is None:
        (d / name).unlink()
    else:
        (d / name).write_text(json.dumps({**json.loads((d / name).read_text()), **edit}))
    refused(capsys, *argv(parts, tiny_model_dir, tmp_path, d, parts / 'ip'), message=f"director '{d}': {message}")


@pytest.mark.parametrize('case', list(WEIGHTS))
def test_state_adapter_refused(capsys, parts, tiny_model_dir, tmp_path, case):
    tamper, message = WEIGHTS[case]
    ip = shutil.copytree(parts / 'ip', tmp_path / 'ip')
    tamper(ip / 'models' / 'ip.safetensors')
    err = refused(capsys, *argv(parts, tiny_model_dir, tmp_path, parts / 'd', ip), message=message)
    assert f"state_adapter '{ip}:models/ip.safetensors': ip.safetensors " in err, err


@pytest.mark.parametrize(
    'info,message',
    [({'clip': 'x', 'image_dim': 2 * 10**6}, 'adapter.json image_dim is not a whole number'), ([], 'adapter.json is not an object')],
)
def test_state_adapter_folder_config_bounded(capsys, parts, tiny_model_dir, tmp_path, info, message):
    ip = tmp_path / 'adapter'
    ip.mkdir()
    shutil.copy(parts / 'ip' / 'models' / 'ip.safetensors', ip / 'ip-adapter.safetensors')
    (ip / 'adapter.json').write_text(json.dumps(info))
    refused(capsys, *argv(parts, tiny_model_dir, tmp_path, parts / 'd', ip), message=f"state_adapter '{ip}': {message}")


# --- a resumed run whose stored states were replaced, checksums updated ---


@pytest.fixture(scope='module')
def clean_run(parts, tiny_model_dir, tmp_path_factory):
    "A finished director run (scene 3 reads scenes 1-2's drawn states) and its argv without --out."
    out = tmp_path_factory.mktemp('clean') / 'run'
    args = [str(a) for a in argv(parts, tiny_model_dir, out.parent, parts / 'd', parts / 'ip')]
    assert cli.main(args) == 0
    return out, args


def _no_nan(text: str) -> dict:
    def refuse(c):
        raise ValueError(f'{c} in manifest.json')

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    'state,message',
    [
        (lambda z: torch.full_like(z, float('nan')), 'tensor drawn_state has NaN or infinite values'),
        (lambda z: (z * 1e30).long(), 'tensor drawn_state is int64, expected float32'),
        (lambda z: z * 1e30, 'tensor drawn_state has norm 1e+30, expected a unit vector'),
        (lambda z: z[:4].clone(), 'tensor drawn_state is [4], expected [8]'),
    ],
    ids=['nan', 'int-x1e30', 'float-x1e30', 'short'],
)
def test_resume_with_replaced_state_refused(capsys, clean_run, tmp_path, state, message):
    src, args = clean_run
    run_dir = shutil.copytree(src, tmp_path / 'run')
    p = run_dir / 'scenes' / '01' / 'latents.safetensors'
    t = load_file(str(p))
    t['drawn_state'] = state(t['drawn_state']).contiguous()
    save_file(t, str(p))
    m = json.loads((run_dir / 'manifest.json').read_text())
    m['scenes'][0]['files']['scenes/01/latents.safetensors'] = file_sha256(p)  # as a tamperer would
    m['scenes'][2] = None  # scene 3 is made again and reads scene 1's drawn state
    m.update(status='partial', video=None)
    (run_dir / 'manifest.json').write_text(json.dumps(m))
    i = args.index('--out')
    err = refused(capsys, *args[:i + 1], run_dir, *args[i + 2 :], '--resume', message=message)
    assert f"{run_dir / 'scenes' / '01'} (scene 1): latents.safetensors " in err, err
    _no_nan((run_dir / 'manifest.json').read_text())


def test_clean_run_manifest_is_finite(clean_run):
    m = _no_nan((clean_run[0] / 'manifest.json').read_text())
    assert all(-1 <= s['extra']['state_cosine'] <= 1 for s in m['scenes'])


def test_two_toy_director_runs_are_identical(capsys, tmp_path):
    "The shipped toy director and adapter: the same inputs give the same keyframes, byte for byte."
    hashes = []
    for r in ('a', 'b'):
        code, _, err, _ = run(capsys, 'generate', 'example:toy-kitchen', '--out', tmp_path / r, '--method', 'director',
                              '--steps', '2', '--quiet', '--device', 'cpu', '--scene-seconds', '0.25')  # fmt: skip
        assert code == 0, err
        frames = sorted((tmp_path / r).glob('scenes/*/keyframe.png'))
        assert frames
        hashes.append([hashlib.sha256(f.read_bytes()).hexdigest() for f in frames])
    assert hashes[0] == hashes[1]


# --- a --model folder whose weights were cut, poisoned or cast ---


@pytest.mark.parametrize(
    'change,message',
    [
        (lambda t, k: t.pop(k), 'its unet lacks 1 weight (conv_in.weight); msvid does not run a model with missing'),
        (lambda t, k: t.__setitem__(k, t[k] * float('nan')), 'its unet tensor conv_in.weight has NaN or infinite'),
        (lambda t, k: t.__setitem__(k, t[k].long()), 'tensor conv_in.weight is int64, expected a float'),
    ],
    ids=['missing', 'nan', 'int'],
)
def test_model_folder_weights_refused(capsys, tiny_model_dir, tmp_path, change, message):
    d = shutil.copytree(tiny_model_dir, tmp_path / 'model')
    f = d / 'unet' / 'diffusion_pytorch_model.safetensors'
    t = load_file(str(f))
    change(t, 'conv_in.weight')
    save_file(t, str(f))
    (tmp_path / 't.json').write_text(json.dumps(TASK))
    refused(capsys, 'generate', tmp_path / 't.json', '--model', d, '--out', tmp_path / 'run', *FAST, message=message)
    assert not (tmp_path / 'run').exists()


def test_model_folder_text_encoder_with_a_missing_weight_refused(capsys, tiny_model_dir, tmp_path):
    "transformers would start the missing weight at random (a report on the terminal, exit 0, other pictures)."
    d = shutil.copytree(tiny_model_dir, tmp_path / 'model')
    f = d / 'text_encoder' / 'model.safetensors'
    save_file({k: v for k, v in load_file(str(f)).items() if 'final_layer_norm.weight' not in k}, str(f))
    (tmp_path / 't.json').write_text(json.dumps(TASK))
    refused(capsys, 'generate', tmp_path / 't.json', '--model', d, '--out', tmp_path / 'run', *FAST,
            message="its text_encoder's files lack 1 weight (final_layer_norm.weight)")  # fmt: skip
