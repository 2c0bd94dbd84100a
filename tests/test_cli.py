"The command line contract: exit codes 0 / 2 / 1, one `error:` line, no traceback."

import subprocess, sys

import pytest

import msvid.cli as cli


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_version_and_help():
    r = subprocess.run([sys.executable, '-m', 'msvid', '--version'], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith('msvid ')
    r = subprocess.run([sys.executable, '-m', 'msvid', 'generate', '--help'], capture_output=True, text=True)
    assert r.returncode == 0 and 'examples:' in r.stdout and '--resume' in r.stdout


def test_validate_ok(capsys, task_file):
    code, out, err = run(capsys, 'validate', task_file)
    assert code == 0 and err == ''
    assert 'Garlic toast  (3 steps)' in out and '2. Rub the slices with garlic.' in out


@pytest.mark.parametrize(
    'content,suffix,message',
    [
        ('{"title": "x", "steps": "one step"}', '.json', 'steps: expected a list of strings, got string'),
        ('{"title": "x", "steps": ["a", ""]}', '.json', 'steps[1]: empty string'),
        ('title: x\nsteps: [a, {text: b, camera: sideways}]\n', '.yaml', 'steps[1].camera'),
        ('{"title": "x", ', '.json', 'invalid JSON at line 1'),
        ('just prose, no list', '.txt', 'no numbered'),
    ],
)
def test_bad_task_files_exit_2(capsys, tmp_path, content, suffix, message):
    p = tmp_path / f'task{suffix}'
    p.write_text(content)
    code, out, err = run(capsys, 'validate', p)
    assert code == 2 and out == ''
    assert err.startswith('error: ') and message in err and err.count('\n') == 1 and 'Traceback' not in err


def test_not_utf8_exit_2(capsys, tmp_path):
    p = tmp_path / 't.txt'
    p.write_bytes('Caf\xe9\n1. Brew.'.encode('latin-1'))
    code, _, err = run(capsys, 'validate', p)
    assert code == 2 and 'file is not UTF-8' in err


def test_too_many_steps_can_be_raised(capsys, tmp_path):
    p = tmp_path / 'long.txt'
    p.write_text('Long\n' + ''.join(f'{i}. step {i}\n' for i in range(1, 71)))
    assert run(capsys, 'validate', p)[0] == 2
    assert run(capsys, 'validate', p, '--max-steps', 100)[0] == 0


@pytest.mark.parametrize(
    'argv,message',
    [
        (['generate'], 'required'),
        (['generate', 'x.json'], '--out'),
        (['bogus'], 'invalid choice'),
        (['generate', '{task}', '--out', '{out}', '--seed', 'abc'], "invalid int value: 'abc'"),
        (['generate', '{task}', '--out', '{out}', '--preset', 'nope'], "preset 'nope'"),
        (['generate', '{task}', '--out', '{out}', '--method', 'nope'], "method 'nope'"),
        (['generate', '{task}', '--out', '{out}', '--steps', '0'], 'argument --steps: num_inference_steps 0: expected'),
        (['generate', '{task}', '--out', '{out}', '--model', '{out}/missing-model'], "missing-model': no such folder"),
        (['generate', '{task}', '--out', '{out}', '--method', 'ip-refs'], "method 'ip-refs': give the IP-Adapter"),
        (['generate', '{task}', '--out', '{out}', '--ip-adapter', 'h94/IP-Adapter:m/x.bin'], 'safetensors only'),
        (['generate', 'example:nope', '--out', '{out}'], 'is not one of the bundled examples'),
        (['toy-tasks', '--n', '0', '--out', '{out}'], '--n: must be at least 1'),
    ],
)
def test_bad_arguments_exit_2(capsys, tmp_path, task_file, argv, message):
    argv = [a.format(task=task_file, out=tmp_path / 'run') for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert err.startswith('error: ') and message in err and err.count('\n') == 1
    assert not (tmp_path / 'run').exists()  # refused before a run folder, or it failed before a scene and left none


def test_existing_run_needs_resume(capsys, tmp_path, task_file, tiny_model_dir):
    args = [
        'generate',
        task_file,
        '--out',
        tmp_path / 'r',
        '--model',
        tiny_model_dir,
        '--method',
        'independent',
        '--size',
        16,
        '--steps',
        2,
        '--quiet',
        '--device',
        'cpu',
        '--scene-seconds',
        0.25,
    ]
    assert run(capsys, *args)[0] == 0
    code, _, err = run(capsys, *args)
    assert code == 2 and 'already holds a run' in err
    code, _, err = run(capsys, *args, '--resume', '--seed', 9)
    assert code == 2 and 'cannot resume with a different config (seed changed)' in err
    assert run(capsys, *args, '--resume')[0] == 0


def test_internal_failure_exit_1_with_log(capsys, monkeypatch, tmp_path, task_file):
    def boom(a):
        raise RuntimeError('kaboom')

    monkeypatch.setitem(cli.COMMANDS, 'validate', boom)
    code, _, err = run(capsys, 'validate', task_file)
    assert code == 1 and err.startswith('error: internal failure: RuntimeError: kaboom')
    log = err.split('traceback in ')[1].rstrip(')\n')
    assert 'Traceback' in open(log).read()


@pytest.mark.parametrize(
    'extra,message',
    [
        (['--reuse-mode', 'bogus'], "argument --reuse-mode: reuse_mode 'bogus': expected one of restart, resume"),
        (['--size', '7'], 'argument --size: height 7: expected a multiple of 8'),
        (['--guidance', 'nan'], 'argument --guidance: guidance_scale nan: expected a finite number >= 0'),
        (['--scene-seconds', 'inf'], 'argument --scene-seconds: scene_seconds inf: expected a finite number'),
        (['--seed', '-1'], 'argument --seed: seed -1: expected an integer >= 0'),
        (['--crossfade', '2', '--scene-seconds', '1'], 'crossfade 2.0: expected less than scene_seconds (1.0)'),
    ],
)
def test_bad_settings_exit_2_before_the_run_folder(capsys, tmp_path, task_file, extra, message):
    "RunConfig's checks reach the command line as one error line, and no run folder is made."
    code, _, err = run(capsys, 'generate', task_file, '--out', tmp_path / 'run', '--device', 'cpu', *extra)
    assert code == 2 and err.startswith('error: ') and message in err and err.count('\n') == 1, err
    assert not (tmp_path / 'run').exists()


def test_one_flag_per_setting():
    "A setting has the same flag, default and help in every subcommand that takes it."
    import argparse

    subs = next(x for x in cli.build_parser()._actions if isinstance(x, argparse._SubParsersAction)).choices
    seen = {}
    for cmd, names in [
        ('generate', cli.generate_fields()),
        ('bench', cli.bench_fields()),
        ('script', cli.SCRIPT_FIELDS),
        ('train-selector', cli.TRAIN_SELECTOR_FIELDS),
    ]:
        actions = {x.dest: x for x in subs[cmd]._actions}
        for name in names:
            x = actions['size' if name in cli.SIZE_FIELDS else name]
            assert (x.option_strings[0], x.default) == (cli.flag_for(name), None)  # booleans also have --no-x
            assert (x.help, x.choices) == seen.setdefault(name, (x.help, x.choices))
    assert '--captions' in subs['script']._option_string_actions
    assert '--backend' not in subs['script']._option_string_actions
    assert all(x.help for sp in subs.values() for x in sp._actions)
