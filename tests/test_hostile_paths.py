"""Hostile paths (issue #33): files that name other files (director-data's VIDEOS, its timelines and keyframes) and
folders that hold planted symlinks or special files. Each case exits 2 with exactly one `error:` line within 10 s,
and nothing outside the folders named on the command line is read, written or replaced."""

import json, os, struct, zlib
from pathlib import Path

import pytest
from PIL import Image

import msvid.cli as cli
from conftest import refused, run_cli as run

FAST = ['--size', '16', '--steps', '2', '--quiet', '--device', 'cpu', '--scene-seconds', '0.25']
TASK = '# Garlic toast\n1. Slice the bread.\n2. Rub the slices with garlic.\n'
CAPTIONS = [{'start': 0, 'end': 4, 'text': 'bread is sliced'}, {'start': 4, 'end': 8, 'text': 'garlic is rubbed'}]
ACTIONS = [{'start': 0, 'end': 3, 'text': 'slice the bread'}, {'start': 4, 'end': 7, 'text': 'rub garlic'}]


def snapshot(folder: Path) -> dict:
    "Every entry under `folder` (symlinks not followed) with its kind, size and mtime."
    return {
        p: (os.lstat(p).st_mode, os.lstat(p).st_size, os.lstat(p).st_mtime_ns)
        for p in [folder, *folder.rglob('*')]
    }


@pytest.fixture
def outside(tmp_path):
    "A folder outside the ones the command is given, with a sentinel file; checked unchanged after the test."
    o = tmp_path / 'outside'
    o.mkdir()
    (o / 'sentinel.txt').write_text('precious')
    Image.new('RGB', (8, 8), 'red').save(o / 'outside.png')
    (o / 'captions.json').write_text(json.dumps(CAPTIONS))
    before = snapshot(o)
    yield o
    assert snapshot(o) == before
    assert (o / 'sentinel.txt').read_text() == 'precious'


@pytest.fixture
def videos(tmp_path):
    "A director-data folder: VIDEOS naming two timelines and two keyframes inside it; set `keyframes` to make it hostile."
    d = tmp_path / 'data'
    d.mkdir()
    (d / 'captions.json').write_text(json.dumps(CAPTIONS))
    (d / 'actions.json').write_text(json.dumps(ACTIONS))
    Image.new('RGB', (8, 8), 'blue').save(d / 'k0.png')

    def write(keyframes=('k0.png', 'k0.png'), captions='captions.json'):
        (d / 'videos.json').write_text(
            json.dumps([{'captions': captions, 'actions': 'actions.json', 'keyframes': list(keyframes)}])
        )
        return ['director-data', d / 'videos.json', '--out', d / 'director.safetensors']

    return d, write


def test_director_data_inside_works(capsys, videos, outside):
    d, write = videos
    code, out, err, _ = run(capsys, *write())
    assert code == 0, err
    assert (d / 'director.safetensors').is_file()


@pytest.mark.parametrize(
    'keyframe,message',
    [
        ('../outside/outside.png', "keyframes[0]: '../outside/outside.png' is outside the VIDEOS file's folder"),
        ('ABS', "is outside the VIDEOS file's folder (allow it with --images-anywhere)"),
        ('link.png', "keyframes[0]: 'link.png' is outside the VIDEOS file's folder"),
        ('/etc/hostname', "keyframes[0]: '/etc/hostname' is outside the VIDEOS file's folder"),
    ],
    ids=['dotdot', 'absolute', 'symlink-out', 'etc-hostname'],
)
def test_director_data_keyframes_outside(capsys, videos, outside, keyframe, message):
    d, write = videos
    (d / 'link.png').symlink_to(outside / 'outside.png')
    keyframe = str(outside / 'outside.png') if keyframe == 'ABS' else keyframe
    refused(capsys, *write([keyframe, 'k0.png']), message=message)
    assert not (d / 'director.safetensors').exists()


def test_director_data_timeline_outside(capsys, videos, outside):
    d, write = videos
    refused(capsys, *write(captions='../outside/captions.json'), message="captions: '../outside/captions.json' is outside")


def test_director_data_images_anywhere_allows_outside(capsys, videos, outside):
    d, write = videos
    code, _, err, _ = run(capsys, *write(['../outside/outside.png', 'k0.png']), '--images-anywhere')
    assert code == 0, err


def test_director_data_fifo_keyframe_does_not_block(capsys, videos, outside):
    d, write = videos
    os.mkfifo(d / 'fifo.png')
    refused(capsys, *write(['fifo.png', 'k0.png']), message="keyframes[0]: '" + str(d / 'fifo.png') + "' is not a file")


def png_header(width: int, height: int) -> bytes:
    "A tiny PNG file that claims `width` x `height` pixels (its pixel data is missing)."
    chunk = lambda kind, data: struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)) + chunk(b'IEND', b'')


def test_director_data_huge_keyframe_is_refused_before_decoding(capsys, videos, outside):
    d, write = videos
    (d / 'huge.png').write_bytes(png_header(30_000, 30_000))
    refused(capsys, *write(['huge.png'] * 2), message='has more pixels than Pillow opens')
    (d / 'big.png').write_bytes(png_header(9000, 9000))  # under Pillow's bound, over msvid's 40 megapixels
    refused(capsys, *write(['big.png'] * 2), message='has 9000x9000 pixels, more than 40,000,000')


def test_a_keyframe_named_many_times_is_decoded_once(videos, monkeypatch):
    import msvid.io.limits as limits
    from msvid.train.director import embed_keyframes

    d, _ = videos
    calls = []
    real = limits.load_image
    monkeypatch.setattr(limits, 'load_image', lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    seqs = [dict(actions=['a'] * 6, captions=['c'] * 6, keyframes=[str(d / 'k0.png')] * 6)]
    out = embed_keyframes(seqs, lambda ims: __import__('torch').zeros(len(ims), 4))
    assert len(calls) == 1 and out[0]['z'].shape == (6, 4)


# --- writes: no symlink planted in the run or output folder is followed, no special file is replaced ---


@pytest.fixture(scope='module')
def clean_run(tmp_path_factory, tiny_model_dir):
    "One finished run of two scenes to copy and plant symlinks in."
    d = tmp_path_factory.mktemp('clean')
    (d / 't.txt').write_text(TASK)
    argv = ['generate', d / 't.txt', '--out', d / 'run', '--model', tiny_model_dir, *FAST, '--method', 'independent']
    assert cli.main([str(a) for a in argv]) == 0
    return d, [str(a) for a in argv]


@pytest.mark.parametrize('target', ['outside', 'inside'])
def test_resume_refuses_a_symlinked_scene_folder(capsys, clean_run, tmp_path, outside, target):
    import shutil

    src, argv = clean_run
    run_dir = tmp_path / 'run'
    shutil.copytree(src / 'run', run_dir)
    scene = run_dir / 'scenes' / '01'
    if target == 'outside':
        shutil.rmtree(scene)
        scene.symlink_to(outside, target_is_directory=True)
    else:  # even to a folder inside the run
        scene.rename(run_dir / 'elsewhere')
        scene.symlink_to(run_dir / 'elsewhere', target_is_directory=True)
    before = snapshot(run_dir)
    argv = [*argv[:2], '--out', run_dir, *argv[4:], '--resume']
    refused(capsys, *argv, message=f'{scene}: is a symlink; msvid does not write through it')
    after = snapshot(run_dir)
    lock = run_dir / '.msvid.lock'
    assert {p: v for p, v in after.items() if p not in (lock, run_dir)} == {
        p: v for p, v in before.items() if p not in (lock, run_dir)
    }


def test_toy_tasks_does_not_write_through_a_planted_symlink(capsys, tmp_path, outside):
    from msvid.toy.tasks import _task_seed, make_task
    from msvid.io.taskfile import slugify

    out = tmp_path / 'tasks'
    out.mkdir()
    name = f"0000_{slugify(make_task(_task_seed(0, 0)).title)}"
    (out / name).symlink_to(outside, target_is_directory=True)
    refused(capsys, 'toy-tasks', '--n', 1, '--out', out, message=f'{out / name}: is a symlink; msvid does not write')
    (out / name).unlink()
    (out / name).mkdir()
    (out / name / 'step00.png').symlink_to(outside / 'sentinel.txt')
    refused(capsys, 'toy-tasks', '--n', 1, '--out', out, message='step00.png: is a symlink; msvid does not write')
    (out / name / 'step00.png').unlink()
    (out / f'{name}.json').symlink_to(outside / 'sentinel.txt')
    refused(capsys, 'toy-tasks', '--n', 1, '--out', out, message=f'{name}.json: is a symlink; msvid does not write')


def test_match_actions_does_not_replace_a_fifo(capsys, tmp_path, outside):
    (tmp_path / 'c.json').write_text(json.dumps(CAPTIONS))
    (tmp_path / 'a.json').write_text(json.dumps(ACTIONS))
    os.mkfifo(tmp_path / 'pairs.json')
    refused(capsys, 'match-actions', tmp_path / 'c.json', tmp_path / 'a.json', '--out', tmp_path / 'pairs.json',
            message='exists and is not a regular file; msvid does not replace it')  # fmt: skip
    assert (tmp_path / 'pairs.json').is_fifo()


@pytest.mark.skipif(not Path('/dev/null').exists(), reason='no /dev/null')
def test_match_actions_does_not_replace_a_device(capsys, tmp_path, outside):
    (tmp_path / 'c.json').write_text(json.dumps(CAPTIONS))
    (tmp_path / 'a.json').write_text(json.dumps(ACTIONS))
    refused(capsys, 'match-actions', tmp_path / 'c.json', tmp_path / 'a.json', '--out', '/dev/null',
            message='exists and is not a regular file; msvid does not replace it')  # fmt: skip
    assert Path('/dev/null').is_char_device()


def test_director_data_out_is_not_written_through_a_symlink(capsys, videos, outside):
    d, write = videos
    (d / 'director.safetensors').symlink_to(outside / 'sentinel.txt')
    refused(capsys, *write(), message='director.safetensors: is a symlink; msvid does not write through it')


@pytest.mark.parametrize('planted', ['selector', 'checkpoint'])
def test_train_selector_does_not_write_through_a_planted_folder(capsys, tmp_path, outside, planted):
    from msvid.testing_parts import tiny_open_clip

    assert cli.main(['toy-tasks', '--n', '4', '--out', str(tmp_path / 'data')]) == 0
    out = tmp_path / 'sel'
    out.mkdir()
    (out / planted).symlink_to(outside, target_is_directory=True)
    refused(capsys, 'train-selector', '--data', tmp_path / 'data', '--out', out, '--clip', tiny_open_clip(tmp_path / 'c'),
            '--epochs', '1', '--batch-tasks', '2', '--hard-negatives', '1', '--quiet', '--device', 'cpu',
            message=f'{out / planted}: is a symlink; msvid does not write through it')  # fmt: skip


@pytest.mark.parametrize('planted, flags', [('runs', []), ('shards', ['--shard', '0/2'])])
def test_bench_does_not_write_through_a_planted_folder(capsys, tmp_path, outside, planted, flags):
    out = tmp_path / 'b'
    out.mkdir()
    (out / planted).symlink_to(outside, target_is_directory=True)
    refused(capsys, 'bench', '--suite', 'toy', '--tasks', '1', '--methods', 'independent', '--steps', '2', '--quiet',
            '--out', out, *flags, message=f'{out / planted}: is a symlink; msvid does not write through it')  # fmt: skip


def test_a_shot_is_not_written_through_a_folder_swapped_for_a_symlink(tmp_path, outside, monkeypatch):
    "The check before a write and the write itself: a scene folder replaced by a link in between is still refused."
    import msvid.io.writes as writes
    from msvid.io.video import write_video

    run_dir = tmp_path / 'run'
    (run_dir / 'scenes' / '01').mkdir(parents=True)
    real, checks = writes.check_write_path, []

    def swap_after_check(path, root=None):  # as a racing process would, right after the last check passed
        out = real(path, root)
        checks.append(path)
        if len(checks) == 2:  # write_video's check, then atomic_write_bytes's: the folder is swapped after both
            (run_dir / 'scenes' / '01').rmdir()
            (run_dir / 'scenes' / '01').symlink_to(outside, target_is_directory=True)
        return out

    monkeypatch.setattr(writes, 'check_write_path', swap_after_check)
    frames = [Image.new('RGB', (16, 16), c) for c in ('red', 'blue')]
    with pytest.raises(writes.UnsafeWrite, match='is a symlink or not a folder'):
        write_video(run_dir / 'scenes' / '01' / 'shot.mp4', frames, root=run_dir)
