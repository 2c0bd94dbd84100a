"""Red-team cases (issue #20): hostile task files, arguments and run folders. Each bad input exits 2 with exactly
one `error:` line within 10 s, before a run folder is made where that can be checked; a tampered run folder is
regenerated to the clean run's bytes or refused naming the scene and file; nothing outside the run folder is
written (the test folder's other files are compared before and after)."""

import errno, json, os, shutil, time
from pathlib import Path

import pytest
from PIL import Image

import msvid.cli as cli
from conftest import refused, run_cli as run
import msvid.io.rundir as rundir
import msvid.io.writes as writes

FAST = ['--size', '16', '--steps', '2', '--quiet', '--device', 'cpu', '--scene-seconds', '0.25']
COSED = ['--method', 'cosed', '--window', '1', '--select-at', '2']  # stores latents that later scenes read
TASK = '# Garlic toast\n1. Slice the bread.\n2. Rub the slices with garlic.\n3. Toast them in the same pan.\n'


def snapshot(folder: Path, skip: Path | None = None) -> dict:
    "Every file under `folder` (except under `skip`) with its size and mtime."
    return {
        p: (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob('*')
        if p.is_file() and not p.is_symlink() and (skip is None or not p.is_relative_to(skip))
    }


# --- hostile task files: validate and generate refuse them in one line, before any run folder ---

LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + ''.join(
    f'{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n' for p, c in zip('abcdefgh', 'bcdefghi')
)
TASK_FILES = [
    ('laughs.yaml', 'title: x\nsteps: [a]\nmeta:\n' + ''.join('  ' + l + '\n' for l in LAUGHS.splitlines()),
     'more than 20,000 values'),
    ('bigint.json', '{"title": "x", "steps": ["a"], "seed": ' + '9' * 5000 + '}', 'an integer of 5000 digits'),
    ('bigint.yaml', 'title: x\nsteps: [a]\nseed: ' + '9' * 5000 + '\n', 'an integer of 5000 digits'),
    ('deep.json', '[' * 100_000, 'nested more than'),
    ('deep.yaml', '[' * 100_000, 'nested more than'),
    ('surrogate.json', '{"title": "x", "steps": ["a \\ud800 b"]}', 'steps[0]: invalid Unicode'),
    ('surrogate.yaml', 'title: x\nsteps: ["a \\ud800 b"]\n', 'steps[0]: invalid Unicode'),
    ('toyworld.json', '{"title": "x", "steps": ["a"], "meta": {"toyworld": "yes"}}', 'meta.toyworld: expected'),
    ('toysteps.json', '{"title": "x", "steps": ["a"], "meta": {"toyworld": {"steps": [{"state": 1}]}}}',
     'meta.toyworld.steps[0]: expected'),
    ('ansi.json', '{"title": "x", "steps": ["a"], "k\\n\\u001b[2Jx": 1}', 'unknown key(s) k\\n\\x1b[2Jx'),
    ('ctrl.json', '{"title": "x", "steps": ["red\\u001b[31m"]}', 'steps[0]: contains control characters'),
    ('date.yaml', 'title: x\nsteps: [a]\nmeta: {when: 2024-01-02}\n', 'meta.when: a date value is not allowed'),
    ('python.yaml', 'title: !!python/object/apply:os.system ["true"]\nsteps: [a]\n', 'invalid YAML'),
    ('nan.json', '{"title": "x", "steps": ["a"], "meta": {"v": NaN}}', 'NaN is not a JSON number'),
    ('inf.yaml', 'title: x\nsteps: [a]\nmeta: {v: .inf}\n', 'meta.v: inf is not a finite number'),
    ('outside.json', '{"title": "x", "steps": [{"text": "a", "image": "../../etc/passwd"}]}',
     "is outside the task file's folder"),
    ('absolute.json', '{"title": "x", "steps": [{"text": "a", "image": "/etc/hostname"}]}',
     "is outside the task file's folder"),
]  # fmt: skip


@pytest.mark.parametrize('name,content,message', TASK_FILES, ids=[t[0] for t in TASK_FILES])
def test_hostile_task_files(capsys, tmp_path, name, content, message):
    p = tmp_path / name
    p.write_text(content, encoding='utf-8', errors='surrogatepass')
    before = snapshot(tmp_path)
    refused(capsys, 'validate', p, message=message)
    refused(capsys, 'validate', p, '--json', message=message)
    refused(capsys, 'generate', p, '--out', tmp_path / 'run', *FAST, message=message)
    assert not (tmp_path / 'run').exists() and snapshot(tmp_path) == before


@pytest.mark.parametrize('line', ['-' + ' ' * 120_000, '#' + ' ' * 120_000, '1.' + ' ' * 120_000 + 'x'])
def test_list_parsing_is_linear(capsys, tmp_path, line):
    "A 120 kB line of spaces once took over a minute (quadratic backtracking): now milliseconds either way."
    p = tmp_path / 't.md'
    p.write_text(f'Title\n{line}\n' + ' cont\n' * 50_000)
    code, _, err, seconds = run(capsys, 'validate', p)
    assert seconds < 2 and (code == 0 or (code == 2 and err.count('\n') == 1)), (code, err, seconds)


@pytest.mark.parametrize('size', [50_000_000, 8_000_000_000])
def test_file_size_cap(capsys, tmp_path, size):
    p = tmp_path / 'huge.yaml'
    with open(p, 'wb') as f:  # sparse: no disk used
        f.truncate(size)
    refused(capsys, 'validate', p, message='more than 1,000,000 bytes (raise the limit with --max-file-bytes)')
    p2 = tmp_path / 'ok.yaml'
    p2.write_text('title: x\nsteps: [a]\n' + '#' * 1_500_000)
    assert run(capsys, 'validate', p2, '--max-file-bytes', 2_000_000)[0] == 0


@pytest.mark.parametrize(
    'path,message',
    [('/proc/self/mem', 'cannot read'), ('/proc/self/status', 'steps: no numbered'), ('/dev/zero', 'not a file')],
)
def test_special_files(capsys, path, message):
    if not Path(path).exists():
        pytest.skip(f'{path} not on this system')
    refused(capsys, 'validate', path, message=message)


def test_fifo_task_and_reference_do_not_hang(capsys, tmp_path):
    os.mkfifo(tmp_path / 'fifo.json')
    refused(capsys, 'validate', tmp_path / 'fifo.json', message='not a file')
    os.mkfifo(tmp_path / 'pan.png')
    (tmp_path / 't.json').write_text(
        json.dumps({'title': 'x', 'steps': ['a'], 'meta': {'references': {'pan': 'pan.png'}}})
    )
    refused(capsys, 'validate', tmp_path / 't.json', message="meta.references.pan: '")


def test_images_are_checked_and_resolved_in_the_task_folder(capsys, tmp_path, monkeypatch):
    from msvid.io.taskfile import load_task

    Image.new('1', (20_000, 20_000)).save(tmp_path / 'bomb.png')  # 400 megapixels in 50 kB
    (tmp_path / 'text.png').write_text('not an image')
    Image.new('RGB', (8, 8)).save(tmp_path / 'pan.png')
    for img, message in [('bomb.png', 'more pixels than Pillow opens'), ('text.png', 'not an image Pillow can read')]:
        (tmp_path / 't.json').write_text(json.dumps({'title': 'x', 'steps': [{'text': 'a', 'image': img}]}))
        refused(capsys, 'validate', tmp_path / 't.json', message=message)
    (tmp_path / 't.json').write_text(
        json.dumps({'title': 'x', 'steps': ['a'], 'meta': {'references': {'pan': 'pan.png'}}})
    )
    monkeypatch.chdir('/')
    assert load_task(tmp_path / 't.json').meta['references']['pan'] == str(tmp_path / 'pan.png')


def test_train_selector_with_a_step_image_that_is_not_an_image(capsys, tmp_path):
    for k in range(4):
        (tmp_path / f'{k}.json').write_text(
            json.dumps({'title': f't{k}', 'steps': [{'text': 'a', 'image': 'x.png'}, {'text': 'b', 'image': 'x.png'}]})
        )
    (tmp_path / 'x.png').write_bytes(b'\x89PNG but not really')
    refused(capsys, 'train-selector', '--data', tmp_path, '--out', tmp_path / 'sel', message='steps[0].image')


# --- bad arguments: one line, before any run folder ---

ARGS = [
    (['--seed', '-1'], 'argument --seed: seed -1'),
    (['--seed', '9' * 5000], 'argument --seed: invalid int value'),
    (['--size', '7'], 'argument --size: height 7: expected a multiple of 8'),
    (['--size', '100'], 'argument --size: height 100: expected a multiple of 8'),
    (['--scene-seconds', 'nan'], 'scene_seconds nan: expected a finite number'),
    (['--scene-seconds', 'inf'], 'scene_seconds inf: expected a finite number'),
    (['--scene-seconds', '1e6'], 'scene_seconds 1000000.0: expected a finite number of seconds > 0 and <= 600'),
    (['--guidance', 'nan'], 'guidance_scale nan: expected a finite number >= 0'),
    (['--steps', '1000000000'], 'num_inference_steps 1000000000: expected an integer from 1 to 1000'),
    (['--shot-frames', '100000000'], 'shot_frames 100000000: expected an integer from 2 to 1000'),
    (['--negative-prompt', 'blur\udcff'], 'negative_prompt'),
    (['--max-steps', '0'], 'argument --max-steps: 0: expected an integer from 1'),
]


@pytest.mark.parametrize('extra,message', ARGS, ids=[' '.join(a)[:30] for a, _ in ARGS])
def test_bad_arguments_before_the_run_folder(capsys, tmp_path, extra, message):
    (tmp_path / 't.txt').write_text(TASK)
    err = refused(capsys, 'generate', tmp_path / 't.txt', '--out', tmp_path / 'run', '--device', 'cpu', *extra,
                  message=message)  # fmt: skip
    assert err.isascii() and not (tmp_path / 'run').exists()


def test_video_length_bounded_before_the_run_folder(capsys, tmp_path):
    (tmp_path / 't.txt').write_text('Long\n' + ''.join(f'{i}. step {i}\n' for i in range(1, 11)))
    refused(capsys, 'generate', tmp_path / 't.txt', '--out', tmp_path / 'run', '--device', 'cpu',
            '--scene-seconds', '600', message='video: 10 scenes x 600 s = 6000 s, more than 3600 s')  # fmt: skip
    assert not (tmp_path / 'run').exists()


@pytest.mark.parametrize(
    'argv,message',
    [
        (['train-selector', '--data', '{d}', '--out', '{d}/s', '--lr', 'nan'], 'argument --lr: nan'),
        (['train-selector', '--data', '{d}', '--out', '{d}/s', '--hard-negatives', '1000000000'], '--hard-negatives'),
        (['bench', '--out', '{d}/b', '--tasks', '0'], 'argument --tasks: 0'),
        (['toy-tasks', '--n', '1000000000', '--out', '{d}/t'], '--n: at most 100000'),
        (['toy-tasks', '--n', '1', '--seed', '-5', '--out', '{d}/t'], 'argument --seed: -5'),
    ],
)
def test_other_numeric_flags(capsys, tmp_path, argv, message):
    refused(capsys, *[a.format(d=tmp_path) for a in argv], message=message)
    assert sorted(tmp_path.iterdir()) == []


# --- the run folder ---


@pytest.fixture(scope='module')
def clean_run(tmp_path_factory, tiny_model_dir):
    "One finished CoSeD run (its later scenes read the earlier scenes' latents) to copy and tamper with."
    d = tmp_path_factory.mktemp('clean')
    (d / 't.txt').write_text(TASK)
    argv = ['generate', d / 't.txt', '--out', d / 'run', '--model', tiny_model_dir, *FAST, *COSED]
    assert cli.main([str(a) for a in argv]) == 0
    return d, [str(a) for a in argv[:2] + argv[4:]]  # without --out


def copy_run(clean_run, tmp_path) -> tuple[Path, list[str]]:
    src, argv = clean_run
    shutil.copytree(src / 'run', tmp_path / 'run')
    return tmp_path / 'run', [*argv[:2], '--out', str(tmp_path / 'run'), *argv[2:]]


def files(run: Path) -> dict:
    return {p.relative_to(run).as_posix(): p.read_bytes() for p in sorted(run.glob('scenes/*/*'))}


@pytest.mark.parametrize(
    'tamper',
    [
        lambda run: (run / 'scenes/01/latents.safetensors').write_bytes(
            (lambda b: b[:-9] + bytes([b[-9] ^ 0xFF]) + b[-8:])((run / 'scenes/01/latents.safetensors').read_bytes())
        ),
        lambda run: (run / 'scenes/02/keyframe.png').unlink(),
        lambda run: (run / 'scenes/02/latents.safetensors').write_bytes(b''),
        lambda run: (run / 'scenes/03/keyframe.png').write_bytes((run / 'scenes/03/keyframe.png').read_bytes()[:50]),
    ],
    ids=['flipped-latents-1', 'deleted-keyframe-2', 'truncated-latents-2', 'truncated-keyframe-3'],
)
def test_resume_after_tampering_is_identical(capsys, clean_run, tmp_path, tamper):
    run_dir, argv = copy_run(clean_run, tmp_path)
    want = files(run_dir)
    tamper(run_dir)
    (run_dir / '.video.x1y2z3.mp4').write_bytes(b'')  # a killed encoder's temp file
    code, out, err, _ = run(capsys, *argv, '--resume')
    assert code == 0, err
    assert files(run_dir) == want
    assert not list(run_dir.rglob('.*.mp4')) and not (run_dir / rundir.LOCK_NAME).exists()


@pytest.mark.parametrize(
    'edit,message',
    [
        (lambda m: m['scenes'][1].update(keyframe='/etc/hostname'), "scenes[1].keyframe '/etc/hostname': outside"),
        (lambda m: m['scenes'][2].update(keyframe='../../../x.png'), "scenes[2].keyframe '../../../x.png': outside"),
        (lambda m: m['scenes'][0].update(clip='scenes/../../x.mp4'), 'scenes[0].shot'),  # an old run's key, read as today's
        (lambda m: m['scenes'][0]['files'].update({'/etc/hostname': '0' * 64}), 'scenes[0].files'),
        (lambda m: m.update(scenes=m['scenes'][:2]), 'lists 2 scenes for 3 steps'),
        (lambda m: m['scenes'].__setitem__(0, {'keyframe': 1}), 'scenes[0]: not a valid scene record'),
        (lambda m: m.clear(), 'expected an object with task, config and scenes'),
        (lambda m: 'null', 'expected an object with task, config and scenes'),
    ],
)
def test_manifest_that_cannot_be_trusted(capsys, clean_run, tmp_path, edit, message):
    run_dir, argv = copy_run(clean_run, tmp_path)
    (tmp_path / 'x.png').write_bytes((run_dir / 'scenes/01/keyframe.png').read_bytes())  # a file it must not read
    m = json.loads((run_dir / 'manifest.json').read_text())
    text = edit(m)
    (run_dir / 'manifest.json').write_text(text if isinstance(text, str) else json.dumps(m))
    video = (run_dir / 'video.mp4').read_bytes()
    refused(capsys, *argv, '--resume', message=message)
    assert (run_dir / 'video.mp4').read_bytes() == video  # not rebuilt from an outside file


def test_a_locked_run_is_refused_and_a_stale_lock_is_not(capsys, clean_run, tmp_path):
    run_dir, argv = copy_run(clean_run, tmp_path)
    fd = rundir.acquire_lock(run_dir / rundir.LOCK_NAME)  # another process, as far as flock is concerned
    try:
        refused(
            capsys, *argv, '--resume', message=f'another msvid process is running in this folder (pid {os.getpid()})'
        )
    finally:
        os.close(fd)  # its process died: the file stays behind, unlocked
    assert (run_dir / rundir.LOCK_NAME).exists()
    assert run(capsys, *argv, '--resume')[0] == 0


def test_out_must_be_new_empty_or_a_run(capsys, tmp_path, tiny_model_dir):
    (tmp_path / 't.txt').write_text(TASK)
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'thesis.tex').write_text('precious')
    argv = ['generate', tmp_path / 't.txt', '--model', tiny_model_dir, *FAST, '--method', 'independent']
    before = snapshot(tmp_path)
    refused(capsys, *argv, '--out', mine, message='not empty and not an msvid run')
    refused(capsys, *argv, '--out', mine, '--resume', message='not empty and not an msvid run')
    refused(capsys, *argv, '--out', tmp_path / 't.txt', message='exists and is not a folder')
    assert snapshot(tmp_path) == before
    import msvid.io.assets as assets

    refused(capsys, *argv, '--out', assets.shipped('toy-sd'), message='not empty and not an msvid run')
    planted = tmp_path / 'planted'
    planted.mkdir()
    (planted / rundir.LOCK_NAME).symlink_to(tmp_path / 'victim')
    refused(capsys, *argv, '--out', planted, message='cannot create the lock file')
    assert not (tmp_path / 'victim').exists()


# --- safetensors only ---


def test_pickle_checkpoints_are_refused(capsys, tmp_path, tiny_model_dir):
    import torch

    from msvid.methods.selector import ContrastiveSelector
    from msvid.testing_parts import tiny_open_clip

    spec = tiny_open_clip(tmp_path / 'clip')
    torch.save({'x': torch.zeros(1)}, tmp_path / 'evil.pt')
    (tmp_path / 't.txt').write_text(TASK)
    name = spec.split(':')[1]
    refused(capsys, 'generate', tmp_path / 't.txt', '--out', tmp_path / 'run', '--model', tiny_model_dir, *FAST,
            *COSED, '--clip', f'open_clip:{name}:{tmp_path / "evil.pt"}', message='is not a .safetensors file')  # fmt: skip
    sel = tmp_path / 'sel'
    ContrastiveSelector(16).save_pretrained(sel)
    torch.save(ContrastiveSelector(16).state_dict(), sel / 'pytorch_model.bin')
    (sel / 'model.safetensors').unlink()
    refused(capsys, 'generate', tmp_path / 't.txt', '--out', tmp_path / 'run2', '--model', tiny_model_dir, *FAST,
            *COSED, '--clip', spec, '--selector', sel, message='no model.safetensors')  # fmt: skip
    with pytest.raises(ValueError, match='pickled weights are refused'):
        ContrastiveSelector._load_as_pickle(ContrastiveSelector(16), 'pytorch_model.bin', 'cpu', False)


# --- errors that stay one line ---


def test_full_disk_is_one_line(capsys, tmp_path, monkeypatch):
    (tmp_path / 't.txt').write_text(TASK)

    def full(*a, **kw):
        raise OSError(errno.ENOSPC, 'No space left on device', str(tmp_path / 'run' / 'manifest.json'))

    monkeypatch.setattr(writes, '_write_in', full)  # the temporary file cannot be made
    refused(capsys, 'generate', tmp_path / 't.txt', '--out', tmp_path / 'run', *FAST, message='no space left on the device writing')


def test_error_log_is_made_safely(capsys, tmp_path, monkeypatch):
    "No --out run: the log is a new mkstemp file; a symlink planted at the old fixed name is not followed."
    import tempfile

    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
    (tmp_path / 'msvid-error.log').symlink_to(tmp_path / 'victim')
    monkeypatch.setitem(cli.COMMANDS, 'validate', lambda a: 1 / 0)
    (tmp_path / 't.txt').write_text(TASK)
    err = refused(capsys, 'validate', tmp_path / 't.txt', message='internal failure: ZeroDivisionError', code=1)
    log = Path(err.split('traceback in ')[1].rstrip(')\n'))
    assert log.parent == tmp_path and log.name.startswith('msvid-error-') and 'ZeroDivisionError' in log.read_text()
    assert not (tmp_path / 'victim').exists()


def test_messages_escape_control_characters(capsys, tmp_path):
    err = refused(capsys, 'validate', tmp_path / 'evil\n\x1b[2Jname.json', message='no such file')
    assert '\x1b' not in err and 'evil\\n\\x1b[2Jname.json' in err


# --- the LLM backend's output ---


def test_llm_replies_are_bounded():
    import warnings

    from msvid.core.records import Step, Task
    from msvid.script.llm import llm_scripts

    task = Task('t', [Step('Crack an egg into a bowl.'), Step('Whisk it.')])
    scene = {'caption': 'an egg in a bowl', 'depends_on': []}
    replies = iter([
        json.dumps({'scenes': [scene, {**scene, 'background': {'x': 1}}]}),
        json.dumps({'scenes': [scene, {**scene, 'caption': 'a\x00b\x1b[31m'}]}),
        '{' * 500_000 + json.dumps({'scenes': [scene, {**scene, 'entities': ['e'] * 1000}]}),
    ])  # fmt: skip
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        scripts = llm_scripts(task, generate=lambda msgs: next(replies), max_tries=3)
    assert time.perf_counter() - t0 < 5 and 'using the offline decoder' in str(ws[-1].message)
    assert all(s.caption.isprintable() and isinstance(s.background, str) for s in scripts)
