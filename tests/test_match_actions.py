"""`msvid match-actions CAPTIONS ACTIONS --out PAIRS` (VideoAuteur's action-caption matching, issue #18): exit 0
and PAIRS written atomically; bad timelines exit 2 with one `error:` line and write nothing."""

import json, os, stat

import pytest

import msvid.cli as cli
import msvid.io.writes as writes

CAPTIONS = [
    {'start': 0, 'end': 10, 'text': 'Two eggs are cracked into a glass bowl.'},
    {'start': 10, 'end': 14, 'text': 'A fork whisks the yolks.'},
    {'start': 14, 'end': 18, 'text': 'The eggs turn frothy.'},
    {'start': 40, 'end': 44, 'text': 'A flame is lit under a pan.'},
    {'start': 50, 'end': 71, 'text': 'The omelette is folded onto a plate.'},
]
ACTIONS = [
    {'start': 1, 'end': 8, 'text': 'crack the eggs'},
    {'start': 10, 'end': 17, 'text': 'whisk the eggs'},
    {'start': 27, 'end': 38, 'text': 'heat butter'},
    {'start': 52, 'end': 68, 'text': 'cook the omelette'},
]
PAIRS = [
    {'caption': 0, 'action': 0, 'iou': 0.7},
    {'caption': 1, 'action': 1, 'iou': 0.5714},
    {'caption': 2, 'action': 1, 'iou': 0.375},
    {'caption': 4, 'action': 3, 'iou': 0.7619},
]


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write(path, obj):
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


@pytest.fixture
def files(tmp_path):
    return write(tmp_path / 'captions.json', CAPTIONS), write(tmp_path / 'actions.json', ACTIONS)


def test_match_actions_writes_the_pairs(capsys, tmp_path, files):
    out = tmp_path / 'sub' / 'pairs.json'
    code, stdout, err = run(capsys, 'match-actions', *files, '--out', out)
    assert (code, err) == (0, ''), err
    assert json.loads(out.read_text()) == PAIRS
    assert '4 captions matched to 3 actions' in stdout
    assert sorted(p.name for p in out.parent.iterdir()) == ['pairs.json']  # no temporary file left
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask


def test_the_write_is_atomic(capsys, tmp_path, files, monkeypatch):
    "PAIRS goes through msvid.io.writes' atomic writer: a failed write leaves the old file whole and no temp file."
    out = write(tmp_path / 'pairs.json', 'old')
    calls = []
    real = writes.atomic_write_bytes
    monkeypatch.setattr(writes, 'atomic_write_bytes', lambda p, data, root=None: calls.append(p) or real(p, data, root))
    assert run(capsys, 'match-actions', *files, '--out', out)[0] == 0
    assert calls == [str(out)] and json.loads(out.read_text()) == PAIRS

    def boom(self, *a, **k):
        raise RuntimeError('disk on fire')

    write(out, 'old')
    monkeypatch.setattr(writes.os, 'fsync', boom)
    code, _, err = run(capsys, 'match-actions', *files, '--out', out)
    assert code == 1 and err.startswith('error: internal failure') and err.count('\n') == 1
    assert out.read_text() == 'old' and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ['actions.json', 'captions.json', 'pairs.json']
    )


def test_no_match_is_an_empty_list(capsys, tmp_path):
    c = write(tmp_path / 'c.json', [{'start': 0, 'end': 5, 'text': 'x'}])
    a = write(tmp_path / 'a.json', [])
    assert run(capsys, 'match-actions', c, a, '--out', tmp_path / 'p.json')[0] == 0
    assert json.loads((tmp_path / 'p.json').read_text()) == []


@pytest.mark.parametrize(
    'captions,message',
    [
        ({'start': 0, 'end': 1, 'text': 'x'}, 'captions.json: expected a JSON list of {start, end, text} objects'),
        ('"just text"', 'captions.json: expected a JSON list'),
        ([{'start': 0, 'text': 'x'}], 'captions.json[0]: missing end'),
        ([{'end': 4, 'text': 'x'}], 'captions.json[0]: missing start'),
        ([{'start': 0, 'end': 4}], 'captions.json[0]: missing text'),
        ([{'start': -0.5, 'end': 4, 'text': 'x'}], 'captions.json[0].start: -0.5 is negative'),
        ('[{"start": NaN, "end": 4, "text": "x"}]', 'NaN is not a JSON number'),
        ('[{"start": 0, "end": Infinity, "text": "x"}]', 'Infinity is not a JSON number'),
        ('[{"start": 0, "end": 1e400, "text": "x"}]', 'captions.json[0].end: inf is not a finite number'),
        ([{'start': 0, 'end': 4, 'text': 'x'}, {'start': 9, 'end': 8, 'text': 'y'}], '[1]: end 8 is before start 9'),
        ([{'start': '0', 'end': 4, 'text': 'x'}], "[0].start: expected a number of seconds, got '0'"),
        ([{'start': 0, 'end': 4, 'text': None}], '[0].text: expected text, got None'),
        ([{'start': 0, 'end': 4, 'text': {'en': 'x'}}], "[0].text: expected text, got {'en': 'x'}"),
        ([7], '[0]: expected an object with start, end and text, got 7'),
        ('[{"start": 0, "end": 4, "text": "x"', 'invalid JSON at line 1'),
    ],
)
def test_bad_timelines_exit_2(capsys, tmp_path, files, captions, message):
    bad = write(tmp_path / 'captions.json', captions)
    out = tmp_path / 'pairs.json'
    code, _, err = run(capsys, 'match-actions', bad, files[1], '--out', out)
    assert code == 2 and err.startswith('error: ') and err.count('\n') == 1, err
    assert message in err, err
    assert not out.exists()


def test_bad_actions_are_named(capsys, tmp_path, files):
    bad = write(tmp_path / 'actions.json', [{'start': 3, 'end': 1, 'text': 'x'}])
    code, _, err = run(capsys, 'match-actions', files[0], bad, '--out', tmp_path / 'p.json')
    assert code == 2 and 'actions.json[0]: end 1 is before start 3' in err and err.count('\n') == 1


@pytest.mark.parametrize(
    'argv,message',
    [
        (['--out', 'P'], 'the following arguments are required: captions, actions'),
        (['C', 'A'], 'the following arguments are required: --out'),
        (['C', 'nope.json', '--out', 'P'], 'nope.json: no such file'),
        (
            ['C', 'A', '--out', 'P', '--max-file-bytes', '100'],
            'more than 100 bytes (raise the limit with --max-file-bytes)',
        ),
        (['C', 'A', '--out', 'P', '--max-file-bytes', '0'], 'argument --max-file-bytes: 0: expected an integer'),
        (['C', 'A', '--out', '.'], 'is a folder'),
    ],
)
def test_bad_arguments_exit_2(capsys, tmp_path, files, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    names = {'C': files[0].name, 'A': files[1].name, 'P': 'pairs.json'}
    code, _, err = run(capsys, 'match-actions', *[names.get(x, x) for x in argv])
    assert code == 2 and err.startswith('error: ') and err.count('\n') == 1, err
    assert message in err, err
    assert not (tmp_path / 'pairs.json').exists()


def test_a_directory_as_input(capsys, tmp_path, files):
    code, _, err = run(capsys, 'match-actions', tmp_path, files[1], '--out', tmp_path / 'p.json')
    assert code == 2 and 'not a file' in err


def test_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(['--help'])
    assert 'match-actions' in capsys.readouterr().out


# The rule, one hand-built timeline per branch: (caption clip, action, the IoU, matched?)
RULE = [
    ((0, 10), (2, 6), 0.4, True),  # first clause: starts 2 s apart, clip ends later, IoU 0.4 > 0.25
    ((0, 10), (4.9, 8), 0.31, True),  # first clause at 4.9 s apart
    ((0, 10), (5, 8), 0.3, False),  # starts exactly 5 s apart: not < 5; IoU 0.3 <= 0.5
    ((0, 10), (2, 10), 0.8, True),  # ends together (first clause fails on end >), second clause IoU 0.8
    ((0, 10), (2, 4.5), 0.25, False),  # IoU exactly 0.25: not > 0.25
    ((0.1, 0.5), (0.1, 0.2), 0.25, False),  # exactly 0.25 in decimal (floats would say 0.25000000000000006)
    ((0, 10), (2, 4.6), 0.26, True),  # just above 0.25
    ((0, 6), (1, 8), 0.625, True),  # clip ends before the action: the second clause alone
    ((0, 4), (1, 6), 0.5, False),  # second clause at IoU exactly 0.5: not > 0.5
    ((0, 20), (6, 17), 0.55, True),  # starts 6 s apart, second clause
    ((0, 20), (6, 16), 0.5, False),  # starts 6 s apart, IoU 0.5
    ((20, 30), (0, 18), 0.0, False),  # apart
    ((0, 1), (1, 2), 0.0, False),  # touching
    ((5, 5), (5, 5), 0.0, False),  # two instants: an empty union, IoU 0
]


@pytest.mark.parametrize('clip,action,iou,matched', RULE)
def test_every_branch_of_the_rule(capsys, tmp_path, clip, action, iou, matched):
    from msvid.io.annotations import Segment, interval_iou, is_match

    assert float(interval_iou(clip, action)) == pytest.approx(iou, abs=1e-9)
    assert is_match(Segment(*clip, 'c'), Segment(*action, 'a')) is matched
    c = write(tmp_path / 'c.json', [{'start': clip[0], 'end': clip[1], 'text': 'c'}])
    a = write(tmp_path / 'a.json', [{'start': action[0], 'end': action[1], 'text': 'a'}])
    assert run(capsys, 'match-actions', c, a, '--out', tmp_path / 'p.json')[0] == 0
    pairs = json.loads((tmp_path / 'p.json').read_text())
    assert pairs == (
        [{'caption': 0, 'action': 0, 'iou': round(float(interval_iou(clip, action)), 4)}] if matched else []
    )


def test_ties_go_to_the_earlier_action(capsys, tmp_path):
    "Two actions at IoU 0.6: the earlier one wins wherever it is listed; an action may serve several captions."
    c = write(tmp_path / 'c.json', [{'start': 0, 'end': 10, 'text': 'c'}, {'start': 1, 'end': 10, 'text': 'd'}])
    late, early = {'start': 4, 'end': 10, 'text': 'late'}, {'start': 0, 'end': 6, 'text': 'early'}
    for acts, j in [([late, early], 1), ([early, late], 0)]:
        a = write(tmp_path / 'a.json', acts)
        assert run(capsys, 'match-actions', c, a, '--out', tmp_path / 'p.json')[0] == 0
        assert json.loads((tmp_path / 'p.json').read_text())[0] == {'caption': 0, 'action': j, 'iou': 0.6}
    a = write(tmp_path / 'a.json', [{'start': 0, 'end': 9, 'text': 'long'}])
    assert run(capsys, 'match-actions', c, a, '--out', tmp_path / 'p.json')[0] == 0
    assert [p['action'] for p in json.loads((tmp_path / 'p.json').read_text())] == [0, 0]
