"""Stored scene states replaced on disk (issue #33): a resumed `cosed` or `rolling-deps` run whose scene 1 tensors
were swapped for ones of the wrong shape, dtype or size, with the manifest's checksum updated as a tamperer would.
Each is exit 2 with one `error:` line naming the scene and the tensor, before any value is used, and the manifest
stays valid JSON without NaN."""

import json, shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

import msvid.cli as cli
from conftest import refused, run_cli as run
from msvid.io.rundir import file_sha256

torch.set_num_threads(1)

FAST = ['example:toy-kitchen', '--steps', '4', '--quiet', '--device', 'cpu', '--scene-seconds', '0.25']


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    "A finished toy run of each method, made once."
    out = {}
    for method in ('cosed', 'rolling-deps'):
        d = tmp_path_factory.mktemp(method) / 'run'
        assert cli.main(['generate', *FAST, '--method', method, '--out', str(d)]) == 0
        out[method] = d
    return out


def _replace(run_dir, key, change):
    "Scene 1's tensor `key` replaced by `change(tensor)`, its checksum updated, every later scene to be made again."
    p = run_dir / 'scenes' / '01' / 'latents.safetensors'
    t = load_file(str(p))
    t[key] = change(t[key]).contiguous()
    save_file(t, str(p))
    m = json.loads((run_dir / 'manifest.json').read_text())
    m['scenes'][0]['files']['scenes/01/latents.safetensors'] = file_sha256(p)
    m['scenes'][1:] = [None] * (len(m['scenes']) - 1)
    for d in sorted((run_dir / 'scenes').iterdir())[1:]:
        shutil.rmtree(d)
    m.update(status='partial', video=None)
    (run_dir / 'manifest.json').write_text(json.dumps(m))


CASES = [
    ('cosed', 'latent_3', lambda z: z[:4].clone(), 'latent_3 is [4, 8, 8], expected [8, 8, 8]'),
    ('cosed', 'latent_3', lambda z: z * 1e30, 'latent_3 holds values that are not finite or above STORED_LIMIT'),
    ('cosed', 'latent_3', lambda z: (z * 100).long(), 'latent_3 is int64, expected a float tensor'),
    ('cosed', 'clip_text', lambda z: z[:256].clone(), 'clip_image is [512], expected [256]'),
    ('cosed', 'clip_image', lambda z: z * 3, 'clip_image has norm 3, expected a unit vector'),
    ('rolling-deps', 'z0', lambda z: z * float('nan'), 'z0 holds values that are not finite'),
    ('rolling-deps', 'z0', lambda z: z[:, :4, :4].clone(), 'z0 is [8, 4, 4], expected [8, 8, 8]'),
]


@pytest.mark.parametrize('method,key,change,message', CASES, ids=[f'{c[0]}-{c[1]}-{i}' for i, c in enumerate(CASES)])
def test_a_replaced_state_is_refused_on_resume(capsys, runs, tmp_path, method, key, change, message):
    run_dir = shutil.copytree(runs[method], tmp_path / 'run')
    _replace(run_dir, key, change)
    err = refused(capsys, 'generate', *FAST, '--method', method, '--out', run_dir, '--resume', message=message)
    assert f"{run_dir / 'scenes' / '01'} (scene 1): {message}" in err, err
    json.loads((run_dir / 'manifest.json').read_text(), parse_constant=lambda c: pytest.fail(f'{c} in manifest'))
    assert not (run_dir / 'scenes' / '02' / 'keyframe.png').exists()  # nothing was made from the replaced state


def test_a_state_in_another_precision_is_used(capsys, runs, tmp_path):
    "Half precision (a run on a GPU stores what it computes in) is a valid state, read as it is."
    run_dir = shutil.copytree(runs['cosed'], tmp_path / 'run')
    _replace(run_dir, 'latent_3', lambda z: z.half())
    code, _, err, _ = run(capsys, 'generate', *FAST, '--method', 'cosed', '--out', run_dir, '--resume')
    assert code == 0, err
