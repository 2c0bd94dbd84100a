"""What a person sees: bundled examples by name (and in the wheel's file list), a model that cannot be loaded
named with its cause and no folder left behind, and a run that prints a few lines and a summary (#19)."""

import fnmatch, json, os, tomllib
from pathlib import Path

import pytest

import msvid.cli as cli
from msvid.io.assets import example_names, examples_dir, task_path
from msvid.models.loading import why_not_loaded

ROOT = Path(__file__).resolve().parents[1]


def run(capfd, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capfd.readouterr()
    return code, out, err


def terminal_lines(text: str) -> list[str]:
    "The rows a terminal keeps: one per newline, a carriage return overwriting the row (progress bars)."
    return [row.rsplit('\r', 1)[-1] for row in text.split('\n') if row.rsplit('\r', 1)[-1].strip()]


def test_examples_ship_in_the_package():
    names = example_names()
    assert {'toy-kitchen.json', 'tomato-omelette.json', 'floating-shelf.yaml', 'garlic-toast.md'} <= set(names)
    assert examples_dir() == ROOT / 'msvid' / 'examples'
    assert (ROOT / 'examples').resolve() == examples_dir().resolve()  # the checkout path still works
    globs = tomllib.loads((ROOT / 'pyproject.toml').read_text())['tool']['setuptools']['package-data']['msvid']
    for n in names:  # what setuptools puts in the wheel: package-data globs relative to msvid/
        assert any(fnmatch.fnmatch(f'examples/{n}', g) for g in globs), f'{n} is not in the wheel'
    assert (
        task_path('example:garlic-toast') == task_path('example:garlic-toast.md') == examples_dir() / 'garlic-toast.md'
    )


def test_examples_command_lists_and_copies(capfd, tmp_path):
    code, out, _ = run(capfd, 'examples')
    assert code == 0 and 'example:toy-kitchen' in out and len(out.splitlines()) == len(example_names())
    code, out, _ = run(capfd, 'examples', '--copy', tmp_path / 'ex')
    assert code == 0 and sorted(p.name for p in (tmp_path / 'ex').iterdir()) == example_names()
    code, _, err = run(capfd, 'examples', '--copy', tmp_path / 'ex')
    assert code == 2 and 'already exists' in err
    code, out, _ = run(capfd, 'validate', 'example:floating-shelf')
    assert code == 0 and 'steps' in out


def test_load_failures_name_the_cause():
    class GatedRepoError(OSError): ...

    class RepositoryNotFoundError(OSError): ...

    assert why_not_loaded(GatedRepoError('401'), 'org/m').startswith('gated on the hub: accept its terms on https://')
    assert why_not_loaded(RepositoryNotFoundError('404')).startswith('not found, neither on the hub nor as a local')
    e = OSError('org/m does not appear to have a file named diffusion_pytorch_model.safetensors')
    assert why_not_loaded(e).startswith('no safetensors weights (msvid loads safetensors only')
    assert why_not_loaded(ValueError('x ' * 400)).endswith('x...)')  # cut between words


def test_missing_hub_model_offline_leaves_no_folder(capfd, tmp_path, monkeypatch, task_file):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    args = ['generate', task_file, '--out', tmp_path / 'r', '--model', 'org/not-cached-anywhere', '--quiet']
    for _ in range(2):  # the second run is not refused: the first left nothing
        code, out, err = run(capfd, *args)
        assert code == 2 and err.count('\n') == 1, err
        assert "model 'org/not-cached-anywhere': offline" in err and 'not in the local cache' in err
        assert not (tmp_path / 'r').exists()


def test_generate_prints_a_few_lines_and_a_summary(capfd, tmp_path):
    "The bundled toy example on the toy preset: one scenes bar, no inner bars, the summary on stdout."
    old = os.umask(0o022)
    try:
        code, out, err = run(capfd, 'generate', 'example:toy-kitchen', '--out', tmp_path / 'r', '--steps', 5)
    finally:
        os.umask(old)
    assert code == 0, err
    lines = terminal_lines(out + err)
    assert len(lines) <= 15, '\n'.join(lines)
    assert [l for l in err.split('\n') if l.strip()][-1].rsplit('\r', 1)[-1].startswith('scenes: 100%'), err
    assert 'Loading' not in err and '5/5 [' not in err  # no pipeline loading or denoising (5 steps) bars
    summary = out.strip().splitlines()
    assert summary[0].startswith('6 scenes with cosed in ') and 'latent-pixel evals' in summary[0], out
    where = {l.split(':', 1)[0].strip(): Path(l.split(':', 1)[1].strip()) for l in summary[1:]}
    assert set(where) == {'video', 'manifest', 'storyboard'} and all(p.is_file() for p in where.values())
    m = json.loads(where['manifest'].read_text())
    assert m['status'] == 'complete' and len(m['scenes']) == 6
    modes = {oct(p.stat().st_mode & 0o777) for p in (tmp_path / 'r').rglob('*') if p.is_file()}
    assert modes == {'0o644'}, modes  # the umask, not mkstemp's 0600


@pytest.mark.parametrize('verbose', [False, True])
def test_verbose_brings_back_inner_bars(capfd, tmp_path, task_file, tiny_model_dir, verbose):
    args = ['generate', task_file, '--out', tmp_path / 'r', '--model', tiny_model_dir, '--method', 'independent']
    args += ['--size', 16, '--steps', 4, '--device', 'cpu', '--scene-seconds', 0.25] + ['--verbose'] * verbose
    code, out, err = run(capfd, *args)
    assert code == 0, err
    assert ('0/4 [' in err) == verbose  # the 4-step denoising bars (the task has 3 scenes)
