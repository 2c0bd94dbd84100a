"""Bounded work (issue: `match-actions` was quadratic; `--shard` took any digits and any N): `match_actions` on
20,000 captions against 20,000 actions, one of them a million seconds long, in under 5 s, with the very pairs of
the old implementation (kept here as the reference `_slow_match`); a bad `--shard` is exit 2 and one `error:`
line, with no output folder made."""

import random, time
from bisect import bisect_left
from fractions import Fraction

import pytest
import torch

import msvid.cli as cli
import msvid.io.annotations as annotations
from msvid.io.annotations import GOOD_IOU, MAX_SECONDS, MIN_IOU, START_WITHIN, Segment, _exact, check_timeline
from msvid.io.annotations import match_actions

torch.set_num_threads(1)


# ---- the reference: the implementation before this change, verbatim (git show HEAD:msvid/io/annotations.py),
# ---- `match_actions` renamed `_slow_match`. Every caption looks at every action that starts after its start minus
# ---- the longest action: O(n * m) when one action is long.
def _iou(s1: Fraction, e1: Fraction, s2: Fraction, e2: Fraction) -> Fraction:
    "The IoU of [s1, e1] and [s2, e2], given exactly."
    inter, union = max(0, min(e1, e2) - max(s1, s2)), max(e1, e2) - min(s1, s2)
    return inter / union if union > 0 else Fraction(0)


def _rule(c: tuple, a: tuple, iou: Fraction, start_within: Fraction, min_iou: Fraction, good_iou: Fraction) -> bool:
    "The matching rule on exact (start, end) pairs `c` and `a` and their IoU."
    return (abs(c[0] - a[0]) < start_within and c[1] > a[1] and iou > min_iou) or iou > good_iou


def _best_action(c: tuple, acts: list[tuple], order: list[int], starts: list, longest, rule: tuple):
    "(j, iou) of the action that matches clip `c` with the highest IoU (ties: earlier start, then lower j), or None."
    lo, hi = bisect_left(starts, c[0] - longest), bisect_left(starts, c[1])
    best = None
    for j in order[lo:hi]:  # the actions that can overlap c, by start time then list order
        iou = _iou(*c, *acts[j])
        if (best is None or iou > best[1]) and _rule(c, acts[j], iou, *rule):
            best = (j, iou)
    return best


def _slow_match(
    captions,  # the caption clips: a list of {"start", "end", "text"} (or `Segment`s)
    actions,  # the actions, the same shape
    start_within=START_WITHIN,  # the rule's thresholds (`is_match`)
    min_iou=MIN_IOU,
    good_iou=GOOD_IOU,
) -> list[dict]:
    "For each caption with a matching action, in caption order: {'caption': i, 'action': j, 'iou': x (4 decimals)}."
    exact = lambda segs: [(_exact(s.start), _exact(s.end)) for s in segs]  # each time converted once
    cs, acts = exact(check_timeline(captions, 'captions')), exact(check_timeline(actions, 'actions'))
    rule = tuple(map(_exact, (start_within, min_iou, good_iou)))
    order = sorted(range(len(acts)), key=lambda j: (acts[j][0], j))
    starts = [acts[j][0] for j in order]
    longest = max((e - s for s, e in acts), default=0)
    pairs = []
    for i, c in enumerate(cs):
        if best := _best_action(c, acts, order, starts, longest, rule):
            pairs.append({'caption': i, 'action': best[0], 'iou': round(float(best[1]), 4)})
    return pairs


# ---- random timelines
def _time(r: random.Random, span: float):
    "A time on a coarse grid (ties and exact boundaries are common), as an int or a decimal float."
    kind = r.random()
    if kind < 0.4:
        return r.randint(0, int(span))
    if kind < 0.7:
        return r.randint(0, int(span) * 2) / 2
    return round(r.uniform(0, span), 1)


def _timeline(r: random.Random, n: int, span: float, long_p: float = 0.0) -> list:
    "`n` segments in [0, span] (some zero-length, some `long_p` a million seconds), dicts or `Segment`s."
    out = []
    for k in range(n):
        s = _time(r, span)
        u = r.random()
        if u < 0.1:
            e = s  # an instant
        elif u < 0.1 + long_p:
            e = s + r.choice([1_000_000, 999_999.5, span * 3])
        else:
            e = s + _time(r, r.choice([2, 6, 12, span]))
        if out and r.random() < 0.1:
            s, e = out[r.randrange(len(out))][:2]  # a duplicate of an earlier segment's times
        out.append((s, e, f't{k}'))
    as_segments = r.random() < 0.5
    return [Segment(*x) if as_segments else dict(zip(('start', 'end', 'text'), x)) for x in out]


def _rule_args(r: random.Random) -> dict:
    "The default thresholds half the time, else others, some odd (0, negative, 1 or more)."
    if r.random() < 0.5:
        return {}
    return dict(
        start_within=r.choice([0, 1, 2.5, 5, 7.5, 30, -1]),
        min_iou=r.choice([0, 0.1, 0.2, 0.25, 0.5, 1, -0.1]),
        good_iou=r.choice([0, 0.1, 0.3, 0.5, 0.75, 1, 1.5, -0.5]),
    )


@pytest.mark.parametrize('seed', range(6))
def test_random_timelines_give_the_old_pairs(seed):
    r = random.Random(seed)
    matched = 0
    for _ in range(100):  # 600 random instances in all
        span = r.choice([5, 20, 60])
        caps = _timeline(r, r.randint(0, 40), span, long_p=r.choice([0, 0.05]))
        acts = _timeline(r, r.randint(0, 40), span, long_p=r.choice([0, 0.05, 0.2]))
        rule = _rule_args(r)
        want = _slow_match(caps, acts, **rule)
        assert match_actions(caps, acts, **rule) == want, (caps, acts, rule)
        matched += len(want)
    assert matched > 100  # the instances do match things


@pytest.mark.parametrize('seed', range(4))
def test_float_bounds_never_change_a_pair(seed, monkeypatch):
    "Every window through `_bounds` (float bounds, then exact looks), times near 0 and near MAX_SECONDS alike."
    monkeypatch.setattr(annotations, 'FEW', 0)
    r = random.Random(100 + seed)
    for _ in range(100):
        span, offset = r.choice([5, 20, 60]), r.choice([0, 0, MAX_SECONDS // 2, MAX_SECONDS - 3 * 10**6])
        shift = lambda segs: [dict(zip(('start', 'end', 'text'), (x[0] + offset, x[1] + offset, x[2]))) for x in segs]
        raw = lambda n, lp: [(s.start, s.end, s.text) if isinstance(s, Segment) else tuple(s.values())
                             for s in _timeline(r, n, span, long_p=lp)]
        caps, acts = shift(raw(r.randint(0, 40), 0)), shift(raw(r.randint(0, 40), r.choice([0, 0.2])))
        rule = _rule_args(r)
        assert match_actions(caps, acts, **rule) == _slow_match(caps, acts, **rule), (caps, acts, rule)


def test_captions_that_all_overlap_all_actions():
    "The dense worst case (every caption within 5 s of every action): the old pairs, without n * m exact IoUs."
    r = random.Random(7)
    seg = lambda: (s := round(r.uniform(0, 4), 1), round(s + r.uniform(1, 8), 1))
    caps, acts = ([dict(zip(('start', 'end'), seg()), text='') for _ in range(300)] for _ in range(2))
    assert match_actions(caps, acts) == _slow_match(caps, acts)
    big = [dict(zip(('start', 'end'), seg()), text='') for _ in range(3000)]
    t0 = time.perf_counter()
    pairs = match_actions(big, big)
    print(f"3000 x 3000, all overlapping: {time.perf_counter() - t0:.2f} s")
    assert [p['action'] for p in pairs] == [big.index(c) for c in big]  # each caption's own times, first copy


def _big(n: int, seed: int):
    "`n` captions and `n` actions along a long video; action 0 is a million seconds long, as is one extra caption."
    r = random.Random(seed)
    starts = sorted(r.uniform(0, 10 * n) for _ in range(n))
    caps = [{'start': t, 'end': t + r.uniform(1, 10), 'text': ''} for t in starts]
    acts = []
    for t in starts:
        s = max(0.0, t + r.uniform(-3, 3))
        acts.append({'start': s, 'end': s + r.uniform(0.5, 8), 'text': ''})
    acts[0] = {'start': 0, 'end': 1_000_000, 'text': 'the whole video'}
    caps.append({'start': 0, 'end': 900_000, 'text': 'most of the video'})
    return caps, acts


def test_a_million_second_action_does_not_make_matching_quadratic():
    caps, acts = _big(20_000, seed=1)
    t0 = time.perf_counter()
    pairs = match_actions(caps, acts)
    seconds = time.perf_counter() - t0
    print(f"match_actions: {len(caps)} captions x {len(acts)} actions -> {len(pairs)} pairs in {seconds:.2f} s")
    assert seconds < 5
    assert pairs[-1] == {'caption': 20_000, 'action': 0, 'iou': 0.9}
    assert len(pairs) > 10_000


def test_the_old_implementation_agrees_on_a_smaller_instance():
    caps, acts = _big(1_000, seed=2)  # the old one looks at ~n * m pairs here
    t0 = time.perf_counter()
    want = _slow_match(caps, acts)
    t1 = time.perf_counter()
    got = match_actions(caps, acts)
    t2 = time.perf_counter()
    print(f"{len(caps)} x {len(acts)}: old {t1 - t0:.2f} s, new {t2 - t1:.3f} s")
    assert got == want and len(got) > 500


# ---- shards
BENCH = ['bench', '--suite', 'toy', '--tasks', '3', '--methods', 'independent', '--steps', '2', '--quiet']


@pytest.mark.parametrize(
    'shard, message',
    [
        ('²/3', "error: shard '²/3': expected I/N with 0 <= I < N, e.g. 0/2"),  # '²'.isdigit() is True
        ('1/100000000000', "error: shard '1/100000000000': N is at most 10000 (MAX_SHARDS)"),
        ('1/' + '9' * 5000, "error: shard '1/99999"),  # more digits than int() takes
        ('-1/2', "error: argument --shard: expected one argument"),  # argparse reads -1/2 as an option
        ('=-1/2', "error: shard '-1/2': expected I/N with 0 <= I < N, e.g. 0/2"),  # --shard=-1/2 reaches parse_shard
        ('0/0', "error: shard '0/0': expected I/N with 0 <= I < N, e.g. 0/2"),
        ('1/２', "error: shard '1/２': expected I/N with 0 <= I < N, e.g. 0/2"),  # a full-width digit
        (' 0/2', "error: shard ' 0/2': expected I/N with 0 <= I < N, e.g. 0/2"),
    ],
)
def test_a_bad_shard_is_one_error_line(capsys, tmp_path, shard, message):
    out = tmp_path / 'b'
    flag = ['--shard' + shard] if shard.startswith('=') else ['--shard', shard]
    code = cli.main([*BENCH, '--out', str(out), *flag])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith(message), captured.err
    assert not out.exists()


def test_shard_syntax():
    from msvid.eval.bench import MAX_SHARDS, parse_shard

    assert parse_shard('0/1') == (0, 1) and parse_shard('3/10') == (3, 10) and parse_shard('007/010') == (7, 10)
    assert parse_shard(f'{MAX_SHARDS - 1}/{MAX_SHARDS}') == (MAX_SHARDS - 1, MAX_SHARDS)
