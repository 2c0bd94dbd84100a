"CLIP metrics on constructed inputs and on a run directory made with tiny random components."

import json, math, shutil

import numpy as np
import pytest
import torch
from PIL import Image

from msvid.models.encoders import load_clip
from msvid.testing_parts import tiny_open_clip
from msvid.core.records import InputError
import msvid.eval.metrics as M


@pytest.fixture(scope='module')
def clip_spec(tmp_path_factory):
    return tiny_open_clip(tmp_path_factory.mktemp('clip'))


@pytest.fixture(scope='module')
def clip(clip_spec):
    return load_clip(clip_spec)


def solid(rgb, size=32):
    return Image.new('RGB', (size, size), rgb)


def test_identical_images_score_one(clip):
    red = solid((220, 30, 30))
    assert M.sequence_similarity(clip, [red] * 4) == pytest.approx(1.0, abs=1e-5)
    assert M.frame_consistency(clip, [red] * 5) == pytest.approx(1.0, abs=1e-5)
    assert M.scene_consistency(clip, [red, red], [['pan'], ['pan']]) == pytest.approx(1.0, abs=1e-5)


def test_values_are_means_of_encoder_cosines(clip):
    ims = [solid((220, 30, 30)), solid((30, 30, 220)), solid((30, 200, 30))]
    e = clip.images(ims)
    pair = lambda i, j: float(e[i] @ e[j])
    assert M.sequence_similarity(clip, ims) == pytest.approx((pair(0, 1) + pair(0, 2) + pair(1, 2)) / 3, abs=1e-5)
    assert M.frame_consistency(clip, ims) == pytest.approx((pair(0, 1) + pair(1, 2)) / 2, abs=1e-5)
    t = clip.texts(['a', 'b', 'c'])
    assert M.text_image_adherence(clip, ['a', 'b', 'c'], ims) == pytest.approx(float((t * e).sum(-1).mean()), abs=1e-5)
    # only scenes that share an entity are compared
    assert M.scene_consistency(clip, ims, [['pan'], ['pot'], ['pan']]) == pytest.approx(pair(0, 2), abs=1e-5)


def test_nothing_to_compare_is_nan(clip):
    assert math.isnan(M.sequence_similarity(clip, [solid((1, 2, 3))]))
    assert math.isnan(M.frame_consistency(clip, [solid((1, 2, 3))]))
    assert math.isnan(M.scene_consistency(clip, [solid((1, 2, 3))] * 2, [['pan'], ['pot']]))


def test_masks_restrict_to_the_entity(clip):
    a = np.zeros((32, 32, 3), np.uint8)
    a[8:24, 8:24] = (200, 40, 40)
    b = a.copy()
    b[:4] = (0, 255, 0)  # differs only outside the pan
    pan = np.zeros((16, 16), bool)
    pan[4:12, 4:12] = True  # a coarser mask is resized to the image
    A, B = Image.fromarray(a), Image.fromarray(b)
    masked = M.scene_consistency(clip, [A, B], [['pan'], ['pan']], [{'pan': pan}, {'pan': pan}])
    assert masked == pytest.approx(1.0, abs=1e-5)
    assert M.scene_consistency(clip, [A, B], [['pan'], ['pan']]) < 1 - 1e-4


def test_bad_inputs_name_the_argument(clip):
    with pytest.raises(InputError, match='captions'):
        M.text_image_adherence(clip, ['one'], [solid((0, 0, 0))] * 2)
    with pytest.raises(InputError, match='entities'):
        M.scene_consistency(clip, [solid((0, 0, 0))] * 2, [['pan']])


@pytest.fixture(scope='module')
def toy_run(tmp_path_factory, tiny_model_dir, clip_spec):
    "A finished independent-noise run of a 4-step toy task (ground truth in the manifest)."
    from msvid.eval.bench import toy_suite
    from msvid.pipeline.generate import generate
    from msvid.models.presets import resolve_config

    torch.set_num_threads(1)
    task = toy_suite(1, n_steps=4)[0]
    cfg = resolve_config(
        device='cpu',
        model=str(tiny_model_dir),
        clip=clip_spec,
        method='independent',
        height=16,
        width=16,
        num_inference_steps=2,
        quiet=True,
        scene_seconds=0.25,
    )
    return generate(task, tmp_path_factory.mktemp('run') / 'r', cfg).path


def test_run_metrics_reads_a_run(toy_run, clip, tmp_path):
    res = M.run_metrics(toy_run, clip)
    assert sorted(res) == sorted(M.METRICS)
    assert math.isnan(res['frame_consistency'])  # no shots
    keys = [Image.open(toy_run / f'scenes/{i:02d}/keyframe.png') for i in range(1, 5)]
    assert res['clip_v2v'] == pytest.approx(M.sequence_similarity(clip, keys), abs=1e-6)
    m = json.loads((toy_run / 'manifest.json').read_text())
    caps = [s['script']['caption'] for s in m['scenes']]
    assert res['clip_t2v'] == pytest.approx(M.text_image_adherence(clip, caps, keys), abs=1e-6)
    ents, masks = M.toy_entities(m['task'], 16)
    assert res['scene_consistency'] == pytest.approx(M.scene_consistency(clip, keys, ents, masks), abs=1e-6)
    # the same keyframe in every scene: V->V is 1
    frozen = tmp_path / 'frozen'
    shutil.copytree(toy_run, frozen)
    for i in range(2, 5):
        shutil.copy(frozen / 'scenes/01/keyframe.png', frozen / f'scenes/{i:02d}/keyframe.png')
    assert M.run_metrics(frozen, clip)['clip_v2v'] == pytest.approx(1.0, abs=1e-5)


def test_clips_give_frame_consistency(toy_run, clip, tmp_path):
    from msvid.io.video import write_video

    d = tmp_path / 'shots'
    shutil.copytree(toy_run, d)
    m = json.loads((d / 'manifest.json').read_text())
    write_video(d / 'scenes/01/shot.mp4', [solid((200, 40, 40), 64)] * 6)
    m['scenes'][0]['shot'] = 'scenes/01/shot.mp4'
    (d / 'manifest.json').write_text(json.dumps(m))
    assert M.run_metrics(d, clip)['frame_consistency'] == pytest.approx(1.0, abs=1e-3)


def test_bench_metrics_and_errors(toy_run, clip, tmp_path):
    shutil.copytree(toy_run, tmp_path / 'runs' / 'independent' / '0000')
    rows = M.bench_metrics(tmp_path, clip)
    assert [(r['method'], r['run']) for r in rows] == [('independent', 'runs/independent/0000')]
    with pytest.raises(InputError, match='not a run directory'):
        M.run_metrics(tmp_path, clip)
    with pytest.raises(InputError, match='holds no run directory'):
        M.bench_metrics(tmp_path / 'runs' / 'independent' / '0000' / 'scenes', clip)
