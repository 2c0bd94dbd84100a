"Shared fixtures: a tiny Stable Diffusion pipeline saved to a folder, loadable by path like any hub model."

import signal, time
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def crashing_at(monkeypatch, name: str, scene: int = 2):
    "Inside the block, method `name` is interrupted (as by Ctrl-C) when it reaches `scene`."
    from msvid.scene.context import METHODS

    real = METHODS[name]

    def crash(ctx, i):
        if i == scene:
            raise KeyboardInterrupt
        return real(ctx, i)

    monkeypatch.setitem(METHODS, name, crash)
    try:
        yield
    finally:
        monkeypatch.setitem(METHODS, name, real)


def run_cli(capture, *argv):
    "Run the CLI in-process, at most 20 s (an alarm ends a blocked open): (exit code, stdout, stderr, seconds)."
    import msvid.cli as cli

    def hung(*_):
        raise TimeoutError('the command blocked')

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    t0 = time.perf_counter()
    try:
        code = cli.main([str(a) for a in argv])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    out, err = capture.readouterr()  # pytest's capsys, or capfd where a library writes to the descriptor itself
    return code, out, err, time.perf_counter() - t0


def refused(capture, *argv, message: str = '', code: int = 2):
    "Assert exit `code`, one `error:` line containing `message`, no traceback, within 10 s; return the line."
    got, _, err, seconds = run_cli(capture, *argv)
    assert got == code, err
    assert err.startswith('error: ') and err.count('\n') == 1 and 'Traceback' not in err, err
    assert message in err, err
    assert seconds < 10, f'{seconds:.1f} s'
    return err


def load_benchmark(name: str):
    "benchmarks/NAME.py as a module (the benchmark scripts are not a package)."
    import importlib.util

    path = Path(__file__).resolve().parents[1] / 'benchmarks' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='session')
def tiny_model_dir(tmp_path_factory):
    "A random-weight StableDiffusionPipeline (16x16 images) saved with save_pretrained."
    from msvid.testing import tiny_sd_pipeline

    path = tmp_path_factory.mktemp('tiny-sd')
    tiny_sd_pipeline(seed=0).save_pretrained(path)
    return path


@pytest.fixture
def task_file(tmp_path):
    "A three-step plain-text task file."
    p = tmp_path / 'toast.txt'
    p.write_text(
        "# Garlic toast\n1. Slice the bread.\n2. Rub the slices with garlic.\n3. Toast them in the same pan.\n"
    )
    return p


# CoSeD as published: candidates from every earlier scene at window 1-3, restarted, one fresh candidate, all finished,
# chosen by the contrastive selector alone
PAPER = dict(sources='all', context='all', reuse_mode='restart', window=[1, 2, 3], n_fresh=1,
             task_seed_candidate=False, max_candidates=0, shallow_across_places=False,
             adherence_weight=0.0, consistency='selector')  # fmt: skip


def as_flags(settings: dict) -> list[str]:
    "`RunConfig` settings as `msvid generate` flags."
    out = []
    for k, v in settings.items():
        flag = '--' + k.replace('_', '-')
        if isinstance(v, bool):
            out.append(flag if v else '--no-' + flag[2:])
        else:
            out += [flag, ','.join(map(str, v)) if isinstance(v, list) else str(v)]
    return out


PAPER_FLAGS = as_flags(PAPER)
