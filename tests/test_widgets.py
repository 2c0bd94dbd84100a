"Widgets and their static fallbacks on a small benchmark made with tiny random components (headless)."

import pytest
import torch
from PIL import Image

from msvid.core.records import InputError
from msvid.io.rundir import RunDir, read_manifest
import msvid.eval.widgets as Wd
from conftest import PAPER


@pytest.fixture(scope='module')
def bench(tmp_path_factory, tiny_model_dir):
    "OUT/runs/METHOD/NNNN for cosed, linear and independent on 2 toy tasks of 4 steps."
    from msvid.eval.bench import run_bench, toy_suite
    from msvid.testing_parts import tiny_open_clip
    from msvid.models.presets import resolve_config
    from msvid.methods.selector import ContrastiveSelector

    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp('bench')
    torch.manual_seed(0)
    ContrastiveSelector(16).save_pretrained(d / 'sel')
    cfg = resolve_config(
        device='cpu',
        model=str(tiny_model_dir),
        clip=tiny_open_clip(d / 'clip'),
        selector=str(d / 'sel'),
        height=16,
        width=16,
        num_inference_steps=4,
        quiet=True,
        scene_seconds=0.25,
        n_first=2,
        **PAPER,  # the paper's candidates: every earlier scene x window, restarted, plus a fresh one
    )
    run_bench(toy_suite(2, n_steps=4), ['cosed', 'linear', 'independent'], d / 'out', cfg, quiet=True)
    return d / 'out'


def is_png(b):
    return b[:4] == b'\x89PNG'


def test_selection_counts_per_method(bench):
    tab = Wd.selection_table(Wd.manifests_by_method(bench))
    assert list(tab) == ['cosed', 'independent', 'linear']
    assert tab['independent']['distance'] == {'fresh': 6}  # 2 tasks x scenes 2-4
    assert set(tab['linear']['distance']) <= {1, 'fresh'}
    assert sum(tab['cosed']['distance'].values()) == 6


def test_selection_widget_follows_the_dropdown(bench):
    dd, img = Wd.selection_widget(bench).children
    assert dd.options[0] == 'all methods' and is_png(img.value)
    seen = {img.value}
    for m in ('cosed', 'independent'):
        dd.value = m
        assert img.value not in seen
        seen.add(img.value)


def test_storyboard_widget_follows_the_run(bench):
    runs, img = Wd.storyboard_widget(bench).children
    assert len(runs.options) == 6
    before = img.value
    runs.value = runs.options[1][1]
    assert is_png(img.value) and img.value != before


def test_candidate_widget_slider_and_table(bench):
    run = bench / 'runs' / 'cosed' / '0000'
    (_, step), img, table = (lambda w: (w.children[0].children, w.children[1], w.children[2]))(Wd.candidate_widget(run))
    assert step.max == 4
    before, tb = img.value, table.value
    step.value = 3
    assert img.value != before and table.value != tb
    assert table.value.count('<tr') == 1 + 1 + 2 * 3  # header + fresh + 2 scenes x window
    assert table.value.count('#ffe08a') == 1  # the chosen row


def test_candidate_images_when_saved(bench, tmp_path):
    import shutil

    run = tmp_path / 'run'
    shutil.copytree(bench / 'runs' / 'cosed' / '0001', run)
    m = read_manifest(run)
    s = m['scenes'][1]
    bars = Wd.figure_png(Wd.plot_candidates(run, 1))
    for k in range(len(s['candidates'])):
        p = RunDir(run).candidate_path(1, k)
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new('RGB', (16, 16), (30 * k, 0, 0)).save(p)
    assert RunDir(run).candidate_path(1, 2).relative_to(run).as_posix() == 'scenes/02/candidates/02.png'
    pics = Wd.figure_png(Wd.plot_candidates(run, 1))
    assert pics != bars
    rows = Wd.candidate_rows(m, 1)
    assert [r['chosen'] for r in rows].index(True) == s['chosen']


def test_player_slider_changes_frame(bench):
    from msvid.io.video import read_video

    run = bench / 'runs' / 'linear' / '0001'
    w = Wd.player_widget(run)
    (_, src), (play, frame), img = w.children[0].children, w.children[1].children, w.children[2]
    assert list(src.options) == ['video']
    assert frame.max == play.max == len(read_video(run / 'video.mp4')) - 1
    before = img.value
    frame.value = frame.max
    assert is_png(img.value) and img.value != before


def test_static_fallbacks_and_errors(bench, tmp_path):
    run = bench / 'runs' / 'cosed' / '0000'
    for fig in (
        Wd.plot_selection(Wd.manifests_by_method(run)),
        Wd.plot_storyboard(run),
        Wd.plot_candidates(run, 0),
        Wd.plot_frames(run / 'video.mp4'),
    ):
        assert is_png(Wd.figure_png(fig))
    with pytest.raises(InputError, match='holds no run directory'):
        Wd.selection_widget(tmp_path)
    m = read_manifest(run)
    with pytest.raises(InputError, match='scene 9: the run has 4 scenes'):
        Wd.candidate_rows(m, 8)
    m['scenes'][3] = None
    with pytest.raises(InputError, match='scene 4: not generated yet'):
        Wd.candidate_rows(m, 3)
