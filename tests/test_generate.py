"End to end on tiny random components: manifest, video, determinism, crash and resume."

import json


import msvid.methods.registry  # noqa: F401  every method registered
import msvid.scene.context as gen
from msvid.cli import main
from msvid.io.taskfile import load_task
from msvid.io.video import read_video

ARGS = [
    '--method',
    'independent',
    '--size',
    '16',
    '--steps',
    '3',
    '--quiet',
    '--device',
    'cpu',
    '--scene-seconds',
    '0.5',
]


def cli_generate(task_file, out, model, *extra):
    return main(['generate', str(task_file), '--out', str(out), '--model', str(model), *ARGS, *extra])


def keyframes(out):
    return [p.read_bytes() for p in sorted(out.glob('scenes/*/keyframe.png'))]


def test_generate_end_to_end(tmp_path, task_file, tiny_model_dir):
    out = tmp_path / 'run'
    assert cli_generate(task_file, out, tiny_model_dir) == 0
    m = json.loads((out / 'manifest.json').read_text())
    assert m['status'] == 'complete' and m['video'] == 'video.mp4'
    assert m['task']['title'] == 'Garlic toast' and m['config']['method'] == 'independent'
    assert [s['script']['step'] for s in m['scenes']] == load_task(task_file).texts
    for i, s in enumerate(m['scenes']):
        assert s['keyframe'] == f'scenes/{i + 1:02d}/keyframe.png' and (out / s['keyframe']).exists()
        assert s['unet_evals'] == 2 * 3 and s['candidates'][s['chosen']]['mode'] == 'fresh'
    frames = read_video(out / 'video.mp4')
    assert len(frames) == 3 * round(0.5 * 8)  # 3 scenes x 0.5 s x 8 fps
    assert frames[0].shape[1] == 256 and frames[0].shape[0] % 16 == 0
    assert not list(out.rglob('*.tmp'))


def test_same_seed_same_bytes_other_seed_differs(tmp_path, task_file, tiny_model_dir):
    for name, seed in [('a', '1'), ('b', '1'), ('c', '2')]:
        assert cli_generate(task_file, tmp_path / name, tiny_model_dir, '--seed', seed) == 0
    a, b, c = (keyframes(tmp_path / n) for n in 'abc')
    assert a == b and len(a) == 3
    assert all(x != y for x, y in zip(a, c))


def test_scenes_differ_within_a_run(tmp_path, task_file, tiny_model_dir):
    assert cli_generate(task_file, tmp_path / 'r', tiny_model_dir) == 0
    assert len(set(keyframes(tmp_path / 'r'))) == 3


def test_crash_then_resume_matches_uninterrupted(tmp_path, task_file, tiny_model_dir, monkeypatch):
    assert cli_generate(task_file, tmp_path / 'full', tiny_model_dir) == 0
    real, calls = gen.METHODS['independent'], []

    def crash_at_scene_2(ctx, i):
        calls.append(i)
        if i == 2:
            raise KeyboardInterrupt
        return real(ctx, i)

    monkeypatch.setitem(gen.METHODS, 'independent', crash_at_scene_2)
    assert cli_generate(task_file, tmp_path / 'cut', tiny_model_dir) == 130
    m = json.loads((tmp_path / 'cut' / 'manifest.json').read_text())
    assert m['status'] == 'partial' and m['scenes'][2] is None and m['scenes'][1] is not None
    monkeypatch.setitem(gen.METHODS, 'independent', lambda ctx, i: (calls.append(i), real(ctx, i))[1])
    assert cli_generate(task_file, tmp_path / 'cut', tiny_model_dir, '--resume') == 0
    assert calls == [0, 1, 2, 2]  # finished scenes were not redone
    assert keyframes(tmp_path / 'cut') == keyframes(tmp_path / 'full')
    assert json.loads((tmp_path / 'cut' / 'manifest.json').read_text())['status'] == 'complete'


def test_step_overrides_are_used(tmp_path, tiny_model_dir):
    p = tmp_path / 't.json'
    p.write_text(
        json.dumps(
            {
                'title': 'x',
                'steps': [
                    {
                        'text': 'Crack the eggs.',
                        'caption': 'two cracked eggs in a white bowl',
                        'seed': 5,
                        'camera': 'left slow',
                    },
                    'Whisk.',
                ],
            }
        )
    )
    assert cli_generate(p, tmp_path / 'r', tiny_model_dir) == 0
    s0 = json.loads((tmp_path / 'r' / 'manifest.json').read_text())['scenes'][0]
    assert s0['script']['caption'] == 'two cracked eggs in a white bowl'
    assert s0['script']['camera'] == {'direction': 'left', 'speed': 'slow'} and s0['candidates'][0]['seed'] == 5


def test_clips_end_to_end(tmp_path, task_file, tiny_model_dir):
    "--shots: every scene gets scenes/NN/shot.mp4 and video.mp4 plays the shots for the scene duration."
    assert (
        cli_generate(task_file, tmp_path / 'r', tiny_model_dir, '--shots', '--shot-frames', '4', '--crossfade', '0')
        == 0
    )
    m = json.loads((tmp_path / 'r' / 'manifest.json').read_text())
    for i, s in enumerate(m['scenes']):
        assert s['shot'] == f'scenes/{i + 1:02d}/shot.mp4'
        assert len(read_video(tmp_path / 'r' / s['shot'])) == 4
        assert s['extra']['shot_unet_evals'] == 0  # the toy clip moves the keyframe's own pixels: no denoising
    assert len(read_video(tmp_path / 'r' / 'video.mp4')) == 3 * round(0.5 * 8)


def test_bad_clip_arguments(tmp_path, task_file, tiny_model_dir, capsys):
    assert cli_generate(task_file, tmp_path / 'r', tiny_model_dir, '--shots', '--crossfade', '-1') == 2
    assert 'argument --crossfade: crossfade -1.0: expected a finite number of seconds >= 0' in capsys.readouterr().err
    assert cli_generate(task_file, tmp_path / 'r2', tiny_model_dir, '--shots', '--shot-frames', '0') == 2
