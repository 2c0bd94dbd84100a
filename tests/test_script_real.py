"The offline script on real how-to text (benchmarks/real_tasks): clean captions, the right place, dependencies."

from pathlib import Path

import pytest
from conftest import load_benchmark

from msvid.core.records import Step, Task
from msvid.io.taskfile import load_task
from msvid.script.decode import decode
from msvid.script.offline import caption_defects, missing_words
from msvid.script.places import PLACES, place_domain, place_name

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / 'benchmarks' / 'real_tasks').glob('*.json'))
KITCHEN = {place_name(p) for p in PLACES if place_domain(p) == 'kitchen'}


def _bench():
    "benchmarks/script_accuracy.py as a module."
    return load_benchmark('script_accuracy')


@pytest.fixture(scope='module')
def scripts():
    return {f.name: (load_task(f), decode(load_task(f))) for f in FILES}


def _task(*steps, title='test'):
    return Task(title, [Step(s) for s in steps])


def test_labelled_set():
    "At least 30 tasks, every step labelled with its dependencies and entities, every task with its domain."
    assert len(FILES) >= 30
    domains = set()
    for f in FILES:
        t = load_task(f)
        m = t.meta
        assert len(m['depends_on']) == len(m['entities']) == len(t.steps), f.name
        assert all(j < i for i, d in enumerate(m['depends_on']) for j in d), f.name
        domains.add(m['domain'])
    assert domains >= {'cooking', 'baking', 'diy', 'repair', 'garden', 'cleaning', 'crafts'}
    assert set(_bench().HELD_OUT) <= {f.name for f in FILES}


def test_no_caption_defects(scripts):
    "No doubled article or determiner, no 'a' before a plural, in any caption of any real task."
    bad = [(n, s.index, d) for n, (t, sc) in scripts.items() for s in sc for d in caption_defects(s.caption)]
    assert not bad, bad


def test_every_content_word_kept(scripts):
    "Every content word of a step is in its caption (resolved pronouns, 'same' and back references aside)."
    lost = [(n, s.index, w) for n, (t, sc) in scripts.items() for s in sc for w in missing_words(s.step, s.caption)]
    assert not lost, lost


def test_background_fits_the_domain(scripts):
    "No kitchen place for a DIY, repair or garden task."
    bad = [
        (n, s.index, s.background)
        for n, (t, sc) in scripts.items()
        if t.meta['domain'] in ('diy', 'repair', 'garden')
        for s in sc
        if s.background in KITCHEN
    ]
    assert not bad, bad


def test_the_defects_the_issue_quotes_are_caught():
    for c in ("remove the front the wheel", "Lay the varnished the oak plank", "a metal brackets with screws"):
        assert caption_defects(c), c


def test_pronouns_prefer_the_thing_acted_on():
    sc = decode(
        _task(
            "Crack three eggs into a large white bowl and whisk them with a pinch of salt.",
            "Heat a knob of butter in a black frying pan.",
            "Pour the beaten eggs from the bowl into the pan and let them set for a minute.",
        )
    )
    assert 'whisk the eggs' in sc[0].caption and 'let the beaten eggs set' in sc[2].caption
    sc = decode(
        _task(
            "Sand an oak plank.", "Screw two brackets to the wall.", "Lay the plank on the brackets and screw it down."
        )
    )
    assert 'screw the oak plank down' in sc[2].caption and sc[2].depends_on == [0, 1]
    sc = decode(_task("Chop tomatoes and cucumber in a large bowl.", "Toss everything together and serve it."))
    assert sc[1].caption.startswith('Toss everything together and serve it,')  # a group, not the bowl


def test_distinct_things_stay_distinct():
    sc = decode(
        _task(
            "Water the plant an hour before you start.",
            "Put some fresh compost in the bottom of a new, larger pot.",
            "Tip the old pot on its side and ease the plant out.",
            "Set the plant in the new pot and fill around it with more compost.",
            title='Repot a houseplant',
        )
    )
    assert [s.depends_on for s in sc] == [[], [], [0], [1, 2]]
    sc = decode(
        _task("Drill a hole in the front panel.", "Glue the side panels to the base.", "Nail the front panel to them.")
    )
    assert {'front panel', 'side panels'} <= set(sc[1].entities)  # two things, not one 'panel'
    assert 'Nail the front panel to the side panels' in sc[2].caption and sc[2].depends_on == [0, 1]


def test_places_by_domain():
    garden = decode(_task("Place a terracotta pot on the patio.", "Fill it with compost.", title='Pot up a seedling'))
    assert [s.background for s in garden] == ['patio', 'patio']
    bike = decode(_task("Turn the bike upside down.", "Remove the front wheel.", title='Fix a bike puncture'))
    assert {s.background for s in bike} == {'workbench'}
    bath = decode(_task("Spray the shower screen with vinegar.", "Scrub the bath.", title='Clean the bathroom'))
    assert {s.background for s in bath} == {'bathroom'}


def test_quality_bars():
    "The issue's bars: held-out dependency F1 >= 0.75 on real tasks, toy-world dependency accuracy >= 0.95."
    b = _bench()
    assert b.real_splits(ROOT / 'benchmarks' / 'real_tasks', b.HELD_OUT, 'offline')['held-out']['f1'] >= 0.75
    assert b.toy_scores(60, 0, 'offline')['dep_acc'] >= 0.95


def test_shipped_judge_is_above_the_tracker_on_held_out_text():
    "Arrow F1 on the first set's held-out third, which the judge never trained on (measured: 0.847 against 0.811)."
    b = _bench()
    held = [ROOT / 'benchmarks' / 'real_tasks' / name for name in b.HELD_OUT]
    f1 = {d: b.real_scores(held, 'offline', dependencies=d)['f1'] for d in ('tracker', 'judge')}
    assert f1['judge'] > f1['tracker'] + 0.02, f1
