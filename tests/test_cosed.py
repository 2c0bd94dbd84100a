"CoSeD through the command line on tiny random components: candidates, records, resume, train-selector."

import json

import pytest
import torch

import msvid.methods.registry  # noqa: F401  every method registered
from msvid.cli import main
from conftest import PAPER_FLAGS, crashing_at
from msvid.testing_parts import tiny_open_clip
from msvid.methods.selector import ContrastiveSelector


@pytest.fixture(scope='module')
def tiny_clip_and_selector(tmp_path_factory):
    d = tmp_path_factory.mktemp('clip')
    spec = tiny_open_clip(d)
    torch.manual_seed(0)
    ContrastiveSelector(16).save_pretrained(d / 'selector')
    return spec, str(d / 'selector')


def cosed_args(task_file, out, model, clip_sel, *extra, paper=True):
    "`msvid generate` with CoSeD on tiny components; `paper`: the published candidate set (conftest.PAPER)."
    clip, sel = clip_sel
    return [
        'generate',
        str(task_file),
        '--out',
        str(out),
        '--model',
        str(model),
        '--clip',
        clip,
        '--selector',
        sel,
        '--method',
        'cosed',
        '--size',
        '16',
        '--steps',
        '4',
        '--quiet',
        '--device',
        'cpu',
        '--scene-seconds',
        '0.25',
        '--n-first',
        '2',
        *(PAPER_FLAGS if paper else []),
        *extra,
    ]


def test_cosed_records_every_candidate(tmp_path, task_file, tiny_model_dir, tiny_clip_and_selector):
    assert main(cosed_args(task_file, tmp_path / 'r', tiny_model_dir, tiny_clip_and_selector, '--window', '1,2')) == 0
    scenes = json.loads((tmp_path / 'r' / 'manifest.json').read_text())['scenes']
    assert [len(s['candidates']) for s in scenes] == [2, 1 + 1 * 2, 1 + 2 * 2]
    last = scenes[2]
    assert {(c['source_step'], c['latent_index']) for c in last['candidates']} == {
        (None, None),
        (0, 1),
        (0, 2),
        (1, 1),
        (1, 2),
    }
    assert all(c['score'] is not None for c in last['candidates'])
    assert last['chosen'] == max(range(5), key=lambda j: last['candidates'][j]['score'])
    assert last['extra']['scoring'] == 'selector' and scenes[0]['extra']['scoring'] == 'text-adherence'
    assert last['unet_evals'] == 2 * 4 * 5


def test_cosed_scores_colour_layout_by_default(tmp_path, task_file, tiny_model_dir, tiny_clip_and_selector):
    "The default rule: each candidate's colour layout against its context scenes' keyframes, plus half its adherence."
    from PIL import Image

    from msvid.methods.cosed import with_adherence
    from msvid.methods.selector import layout_scores
    from msvid.models.encoders import load_clip

    out = tmp_path / 'r'
    args = cosed_args(task_file, out, tiny_model_dir, tiny_clip_and_selector, '--save-candidates', paper=False)
    assert main(args) == 0
    m, clip, checked = json.loads((out / 'manifest.json').read_text()), load_clip(tiny_clip_and_selector[0]), 0
    for i, s in enumerate(m['scenes']):
        context = sorted(d for d in s['script']['depends_on'] if d < i)
        if not context or len(s['candidates']) < 2:
            continue
        assert s['extra']['scoring'] == 'layout'
        ims = [Image.open(out / f'scenes/{i + 1:02d}/candidates/{k:02d}.png') for k in range(len(s['candidates']))]
        past = [Image.open(out / m['scenes'][d]['keyframe']) for d in context]
        text, emb = clip.texts([s['script']['caption']])[0], clip.images(ims)
        want = with_adherence(layout_scores(ims, past), emb @ text, 0.5)
        assert [c['score'] for c in s['candidates']] == pytest.approx(want.tolist(), abs=1e-4)
        assert s['chosen'] == int(want.argmax())
        checked += 1
    assert checked


def test_cosed_crash_then_resume_is_identical(tmp_path, task_file, tiny_model_dir, tiny_clip_and_selector, monkeypatch):
    assert main(cosed_args(task_file, tmp_path / 'full', tiny_model_dir, tiny_clip_and_selector)) == 0
    with crashing_at(monkeypatch, 'cosed'):
        assert main(cosed_args(task_file, tmp_path / 'cut', tiny_model_dir, tiny_clip_and_selector)) == 130
    assert main(cosed_args(task_file, tmp_path / 'cut', tiny_model_dir, tiny_clip_and_selector, '--resume')) == 0
    full, cut = (json.loads((tmp_path / n / 'manifest.json').read_text())['scenes'] for n in ('full', 'cut'))
    assert [s['candidates'] for s in full] == [s['candidates'] for s in cut]
    for i in range(3):
        assert (tmp_path / 'full' / f'scenes/{i + 1:02d}/keyframe.png').read_bytes() == (
            tmp_path / 'cut' / f'scenes/{i + 1:02d}/keyframe.png'
        ).read_bytes()


@pytest.mark.parametrize('method', ['linear', 'clip-only', 'random'])
def test_baseline_methods_run(tmp_path, task_file, tiny_model_dir, tiny_clip_and_selector, method):
    args = cosed_args(task_file, tmp_path / 'r', tiny_model_dir, tiny_clip_and_selector)
    args[args.index('cosed')] = method
    assert main(args) == 0
    scenes = json.loads((tmp_path / 'r' / 'manifest.json').read_text())['scenes']
    sources = {c['source_step'] for c in scenes[2]['candidates']}
    assert sources == ({None, 1} if method == 'linear' else {None, 0, 1})


def test_bad_cosed_arguments(tmp_path, task_file, tiny_model_dir, tiny_clip_and_selector, capsys):
    assert main(cosed_args(task_file, tmp_path / 'r', tiny_model_dir, tiny_clip_and_selector, '--window', '1,9')) == 2
    assert 'window [1, 9]: expected indices up to num_inference_steps (4)' in capsys.readouterr().err
    assert main(cosed_args(task_file, tmp_path / 'r2', tiny_model_dir, tiny_clip_and_selector, '--window', 'a')) == 2
    assert main(cosed_args(task_file, tmp_path / 'r3', tiny_model_dir, ('open_clip:nope', 'x'))) == 2
    assert 'cannot be loaded' in capsys.readouterr().err


def test_train_selector_cli(tmp_path, tiny_clip_and_selector, capsys):
    assert main(['toy-tasks', '--n', '8', '--seed', '0', '--out', str(tmp_path / 'data')]) == 0
    code = main(
        [
            'train-selector',
            '--data',
            str(tmp_path / 'data'),
            '--out',
            str(tmp_path / 'sel'),
            '--clip',
            tiny_clip_and_selector[0],
            '--epochs',
            '2',
            '--batch-tasks',
            '4',
            '--hard-negatives',
            '1',
            '--quiet',
            '--device',
            'cpu',
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert 'validation top-1' in capsys.readouterr().out
    assert ContrastiveSelector.from_pretrained(tmp_path / 'sel' / 'selector').W_OV.in_features == 16
    assert main(['train-selector', '--data', str(tmp_path / 'nothing'), '--out', str(tmp_path / 'x')]) == 2


@pytest.mark.parametrize('mode', ['restart', 'resume'])
def test_cosed_on_sdxl_with_sigma_scheduler(tmp_path, task_file, tiny_clip_and_selector, mode):
    "SDXL: two text encoders and an Euler scheduler whose starting noise is scaled by ~14.6."
    from msvid.testing import tiny_sdxl_pipeline

    tiny_sdxl_pipeline().save_pretrained(tmp_path / 'sdxl')
    clip, _ = tiny_clip_and_selector
    args = [
        'generate',
        str(task_file),
        '--out',
        str(tmp_path / 'r'),
        '--model',
        str(tmp_path / 'sdxl'),
        '--clip',
        clip,
        '--method',
        'clip-only',
        '--size',
        '16',
        '--steps',
        '4',
        '--quiet',
        '--device',
        'cpu',
        '--scene-seconds',
        '0.25',
        '--n-first',
        '2',
        *PAPER_FLAGS,
        '--reuse-mode',
        mode,
    ]
    assert main(args) == 0
    scenes = json.loads((tmp_path / 'r' / 'manifest.json').read_text())['scenes']
    assert {c['mode'] for c in scenes[2]['candidates']} == {'fresh', mode}
    assert scenes[2]['unet_evals'] == 2 * 4 * 7


def test_save_candidates_writes_every_candidate(tmp_path, task_file, tiny_model_dir, tiny_clip_and_selector):
    assert main(cosed_args(task_file, tmp_path / 'r', tiny_model_dir, tiny_clip_and_selector, '--save-candidates')) == 0
    scenes = json.loads((tmp_path / 'r' / 'manifest.json').read_text())['scenes']
    for i, s in enumerate(scenes):
        saved = sorted((tmp_path / 'r' / f'scenes/{i + 1:02d}' / 'candidates').glob('*.png'))
        assert len(saved) == len(s['candidates'])
        assert saved[s['chosen']].read_bytes() == (tmp_path / 'r' / s['keyframe']).read_bytes()


def test_early_selection_on_sdxl(tmp_path, tiny_clip_and_selector):
    "The defaults (task seed, dependencies, resume, early selection) on SDXL: its extra per-row embeddings are cut too."
    from msvid.testing import tiny_sdxl_pipeline

    tiny_sdxl_pipeline().save_pretrained(tmp_path / 'sdxl')
    task = tmp_path / 'eggs.json'
    steps = ['Heat the black pan.', 'Crack two eggs into a bowl.', 'Pour the eggs into the black pan.']
    task.write_text(json.dumps({'title': 'Eggs', 'steps': steps}))
    clip, sel = tiny_clip_and_selector
    args = ['generate', str(task), '--out', str(tmp_path / 'r'), '--model', str(tmp_path / 'sdxl'), '--clip', clip,
            '--selector', sel, '--size', '16', '--steps', '6', '--window', '1,2,3', '--select-at', '4', '--quiet',
            '--device', 'cpu', '--scene-seconds', '0.25']  # fmt: skip
    assert main(args) == 0
    last = json.loads((tmp_path / 'r' / 'manifest.json').read_text())['scenes'][2]
    assert last['script']['depends_on'] == [0, 1] and last['extra']['select_at'] == 4
    starts = [0] + [c['latent_index'] for c in last['candidates'][1:]]  # the task seed starts at step 0
    # the pan's scene (stove, like this one) at steps 1-3; the bowl's (kitchen counter) at step 1 only
    assert [(c['source_step'], c['latent_index']) for c in last['candidates'][1:]] == [(1, 1), (0, 1), (0, 2), (0, 3)]
    assert last['candidates'][0]['mode'] == 'task-seed'
    assert last['unet_evals'] == 2 * (sum(4 - k for k in starts) + (6 - 4))


def test_train_selector_on_task_folders_with_a_hugging_face_clip(tmp_path, capsys):
    "A real CLIP's path: task folders (steps.txt + pictures) and a transformers CLIP folder, no hard negatives."
    from PIL import Image
    from msvid.io.taskfile import load_task
    from msvid.testing_parts import tiny_hf_clip

    assert main(['toy-tasks', '--n', '6', '--seed', '3', '--out', str(tmp_path / 'toy')]) == 0
    for k, f in enumerate(sorted((tmp_path / 'toy').glob('*.json'))):
        task, folder = load_task(f), tmp_path / 'howtos' / f'{k:02d}-task'
        folder.mkdir(parents=True)
        (folder / 'steps.txt').write_text('\n'.join(task.texts) + '\n')
        for i, s in enumerate(task.steps):
            Image.open(s.image).save(folder / f'{i:02d}.jpg')
    clip = tiny_hf_clip(tmp_path / 'clip')
    code = main(['train-selector', '--data', str(tmp_path / 'howtos'), '--out', str(tmp_path / 'sel'), '--clip', clip,
                 '--epochs', '2', '--batch-tasks', '3', '--quiet', '--device', 'cpu'])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert '6 tasks, 2 epochs' in capsys.readouterr().out
    assert ContrastiveSelector.from_pretrained(tmp_path / 'sel' / 'selector').W_OV.in_features == 8  # the CLIP's width
