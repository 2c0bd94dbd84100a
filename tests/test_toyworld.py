"Tests of the toy world (`msvid.toy.tasks`) and the attribute probe (`msvid.eval.probe`)."

from msvid.io.assets import shipped

import json, random, re
from pathlib import Path

import numpy as np
import pytest

import fastcore.test as ft
from msvid.toy.vocab import (
    ATTRIBUTES,
    BACKGROUNDS,
    BG_COLOURS,
    CONTAINERS,
    CONTENTS,
    EFFECTS,
    ENTITY_KINDS,
    POSITIONS,
    SIZES,
    STATED,
    TEXTURES,
    UNSTATED,
    caption,
    random_state,
    scene_attributes,
)
from msvid.toy.actions import ACTION_NAMES
from msvid.toy.render import MASK_NAMES, render, render_clip, render_masks, sample_pairs
from msvid.toy.tasks import make_task, nonlinear_share, toy_task_dict, write_toy_tasks


def _states(n=300, seed=0):
    "Random single scenes plus every step of some generated tasks."
    rng = random.Random(seed)
    return [random_state(rng) for _ in range(n)] + [s for k in range(60) for s in make_task(k).states]


def test_vocabulary_size():
    assert len(ACTION_NAMES) >= 15 and len(ENTITY_KINDS) >= 30
    ft.test_eq(set(STATED) | set(UNSTATED), set(ATTRIBUTES))


def test_determinism():
    for s in (0, 1, 17, 123456):
        ft.test_eq(make_task(s), make_task(s))
        t = make_task(s)
        ft.test_eq(np.asarray(render(t.states[-1])), np.asarray(render(t.states[-1])))
    a, b = sample_pairs(20, 5), sample_pairs(20, 5)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]
    assert make_task(1).steps != make_task(2).steps


def test_task_shape_and_dependencies():
    for s in range(200):
        t = make_task(s)
        n = len(t.steps)
        assert 3 <= n <= 10
        for field in (t.captions, t.states, t.depends_on, t.attributes, t.actions, t.background_from):
            ft.test_eq(len(field), n)
        for i, d in enumerate(t.depends_on):
            assert d == sorted(set(d)) and all(0 <= j < i for j in d)
            for j in d:  # a dependency shows the same container (or the source of a transfer/paint)
                assert t.states[j]['focus'] in t.states[i]['containers']
        ft.test_eq(t.attributes, [scene_attributes(st) for st in t.states])
        ft.test_eq(t.captions, [caption(st) for st in t.states])


def test_unstated_attributes_persist():
    for s in range(100):
        t = make_task(s)
        for i, st in enumerate(t.states):
            for j in range(i):
                a, b = t.attributes[i], t.attributes[j]
                if st['focus'] == t.states[j]['focus']:
                    ft.test_eq((a['position'], a['size']), (b['position'], b['size']))
                if a['background'] == b['background']:
                    ft.test_eq((a['bg_colour'], a['texture']), (b['bg_colour'], b['texture']))


def test_nonlinear_share():
    tasks = [make_task(s) for s in range(500)]
    assert nonlinear_share(tasks) >= 0.3
    shares = [nonlinear_share([make_task(s, nonlinear=p) for s in range(200)]) for p in (0, 0.25, 0.5, 0.9)]
    assert shares == sorted(shares) and shares[0] < 0.15 and shares[-1] > 0.6


def test_domains_and_lengths():
    ft.test_eq({make_task(s).domain for s in range(40)}, {'kitchen', 'diy'})
    for d in ('kitchen', 'diy'):
        t = make_task(3, n_steps=10, domain=d)
        ft.test_eq((t.domain, len(t.steps)), (d, 10))
        assert all(CONTAINERS[a['container']][0] == d and BACKGROUNDS[a['background']][0] == d for a in t.attributes)


_UNSTATED_WORDS = {
    *BG_COLOURS,
    *TEXTURES,
    'striped',
    'checked',
    'checkered',
    'dotted',
    'spotted',
    *POSITIONS,
    'center',
    'middle',
    *SIZES,
    'big',
    'little',
    'tiny',
}


def test_captions_state_what_is_drawn_and_nothing_unstated():
    for st in _states():
        cap, a, c = caption(st), scene_attributes(st), st['containers'][st['focus']]
        assert f"{a['colour']} {CONTAINERS[a['container']][1]}" in cap, cap
        if a['contents'] != 'empty':
            assert CONTENTS[a['contents']][2] in cap, cap
        if a['effect'] != 'none':
            assert EFFECTS[a['effect']][0] in cap, cap
        assert cap.endswith(BACKGROUNDS[a['background']][1]), cap
        words = set(re.findall(r"[a-z]+", cap))
        assert not words & _UNSTATED_WORDS, (cap, words & _UNSTATED_WORDS)
        assert len(cap.split()) <= 30, cap  # comfortably under 60 CLIP tokens
        m = render_masks(st)
        ft.test_eq(set(m), set(MASK_NAMES))
        assert m['container'].any()
        ft.test_eq(bool(m['contents'].any()), a['contents'] != 'empty')
        ft.test_eq(bool(m['effect'].any()), a['effect'] != 'none')


def test_step_text_variety():
    texts = [s for k in range(300) for s in make_task(k).steps]
    assert len(set(texts)) > 0.6 * len(texts)
    joined = ' '.join(texts)
    for phrase in (' it', 'from before', 'the same', 'from step'):
        assert phrase in joined, phrase
    omitted = [
        s
        for s in texts
        if s in ('Stir well.', 'Keep stirring.', 'Mix well.', 'Bake until golden.', 'Fry until golden.')
    ]
    assert omitted


def test_render_sizes_and_clip():
    st = make_task(9).states[-1]
    for size in (16, 64, 100, 256):
        ft.test_eq(render(st, size).size, (size, size))
    for size in (7, 257):
        ft.test_fail(lambda: render(st, size), contains='size')
    clip = render_clip(st, 12)
    ft.test_eq(len(clip), 12)
    assert len({np.asarray(f).tobytes() for f in clip}) > 1


def test_sample_pairs_covers_all_values():
    _, caps, attrs = sample_pairs(3000, 1)
    for k, v in ATTRIBUTES.items():
        ft.test_eq({a[k] for a in attrs}, set(v['values']))


def _check_schema(d, folder):
    assert set(d) <= {'title', 'steps', 'seed', 'meta'} and isinstance(d['title'], str) and d['title']
    for s in d['steps']:
        assert isinstance(s, str) and s.strip() or (set(s) == {'text', 'image'} and (folder / s['image']).exists())


def test_written_tasks_validate(tmp_path):
    paths = write_toy_tasks(12, 3, tmp_path)
    ft.test_eq(len(paths), 12)
    try:
        from msvid.io.taskfile import load_task
    except ImportError:
        load_task = None
    for p in paths:
        assert re.fullmatch(r"\d{4}_[a-z0-9-]+\.json", p.name), p.name
        d = json.loads(p.read_text())
        _check_schema(d, p.parent)
        gt = d['meta']['toyworld']
        ft.test_eq(len(gt['steps']), len(d['steps']))
        assert all(set(s['attributes']) == set(ATTRIBUTES) for s in gt['steps'])
        if load_task:
            t = load_task(p)
            ft.test_eq(len(t.steps), len(d['steps']))
            assert all(Path(s.image).exists() for s in t.steps)
    ft.test_eq([p.read_text() for p in write_toy_tasks(12, 3, tmp_path / 'again')], [p.read_text() for p in paths])
    d = toy_task_dict(make_task(4))
    assert all(isinstance(s, str) for s in d['steps'])
    json.dumps(d)


def test_probe_reads_fresh_renders():
    from msvid.eval.probe import evaluate_probe, load_probe, predict_attributes, to_tensor

    if not (shipped('probe') / 'model.safetensors').exists():
        pytest.skip('no shipped probe yet')
    p = load_probe()
    imgs, _, attrs = sample_pairs(300, 424242)
    acc = evaluate_probe(p, to_tensor(imgs), attrs)
    assert min(acc.values()) >= 0.95, acc
    ft.test_eq(len(predict_attributes(p, [render(make_task(1).states[0])])), 1)
    assert (shipped('probe') / 'model.safetensors').stat().st_size < 2e6
