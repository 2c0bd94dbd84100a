"""Caption-decoder accuracy: dependencies and attribute carry-over on the toy world, dependencies on real tasks.

    python benchmarks/script_accuracy.py [--n 300] [--seed 0] [--captions offline|seq2seq|llm|identity] [--model M]
                                         [--real benchmarks/real_tasks] [--threads 1]

Prints markdown tables. Toy world: `depends_on` exact match per step, and the share of steps whose caption
contains the stated attributes (container, colour, contents, background) of the scene's entity and of every
depended-on entity, counting an attribute only when the text of the step or of the steps it depends on
(transitively) states it (a toy step may say "a bucket" while the ground truth draws a purple one: no
decoder can know that colour). Real tasks (`benchmarks/real_tasks`, hand-labelled `depends_on`, entities and
domain): exact match per step and precision / recall / F1 over dependency arrows, reported separately on the
tuning two thirds and on the held-out third (`HELD_OUT`, fixed before any rule was tuned), and on every real
caption: grammar defects (`caption_defects`: doubled article or determiner, "a" before a plural), content
words of the step the caption lost (`missing_words`), captions cut to the CLIP budget, and whether every
scene's background fits the task's domain (no kitchen place for a DIY, repair or garden task, no workshop or
garden place for a recipe). `--model` goes to the backend as `model=` (a chat LM for `llm`, a
seq2seq folder or hub id for `seq2seq`; default: the shipped toy decoder). The shipped toy decoder trains on
toy seeds below 10,000, so measure it with `--seed 10000` or higher. The backend's warnings (fallbacks,
dropped dependencies) and the seconds spent are counted and printed to stderr.

A second labelled set, `benchmarks/real_tasks_styles` (52 tasks in the styles the first lacks: recipe paragraphs,
wikiHow headings with detail, manuals with part numbers, terse lists, second-person prose, returns to an object set
aside, several similar containers; rooms that are not workshops), is labelled by one written rule
(`real_tasks_styles/RULE.md`, checked mechanically against each step's entities):

    A step depends on the most recent earlier step that showed each thing it shows: an object, its contents or
    state, or the place.

Its held-out half (`STYLES_HELD_OUT`) was fixed by hash when the set was added, before any rule was changed for it.
A third set, `benchmarks/real_tasks_fresh` (30 tasks, five in each of those six styles, labelled by the same rule by
a writer who never saw the tracker's rules), is held out whole: it was written after the last look at the others'
held-out parts and is never used to tune. A fourth, `benchmarks/real_tasks_train` (120 tasks in the same styles and
more, labelled by the same rule; `real_tasks_train/README.md`), is for choices made by measurement (prompts, learned
parts); no tracker rule was written on it, so the tracker's row there is one more out-of-sample estimate. Each F1
comes with a 95% bootstrap interval over tasks.
"""

from __future__ import annotations
import argparse, re, sys, time, warnings
from pathlib import Path

import numpy as np
import torch

from msvid.core.config import CAPTION_BACKENDS
from msvid.script.decode import decode
from msvid.core.records import Step, Task
from msvid.train.seq2seq import ancestors, colour_stated
from msvid.io.taskfile import load_task
from msvid.script.offline import caption_defects, missing_words
from msvid.script.places import PLACES, place_domain, place_name

# The held-out third of the real tasks: never looked at while the offline rules were tuned. Chosen before any
# tuning, when the set grew from 11 to 33 files, as the 11 of the 22 new files whose names have the smallest
# sha1 (hashlib.sha1(name.encode()).hexdigest()); the 11 older files (whose failures the issue quotes) all tune.
HELD_OUT = (
    'bathroom.json',
    'bookcase.json',
    'candle.json',
    'clean-oven.json',
    'leaky-tap.json',
    'papier-mache.json',
    'regrout.json',
    'risotto.json',
    'roast-veg.json',
    'scones.json',
    'sow-seeds.json',
)
# The held-out half of `real_tasks_styles`, fixed when the 52 files were added and before any rule looked at them:
# the 26 names with the smallest sha1 (hashlib.sha1(name.encode()).hexdigest()).
STYLES_HELD_OUT = (
    'apple-crumble.json', 'beef-chilli.json', 'blueberry-muffins.json', 'divide-spider-plant.json',
    'egg-fried-rice.json', 'fiddle-leaf-fig-care.json', 'fix-wobbly-chair.json', 'guacamole.json',
    'hanging-basket.json', 'lemon-chicken-traybake.json', 'lemon-drizzle-loaf.json', 'melt-pour-soap.json',
    'pressed-flower-bookmark.json', 'reseason-cast-iron.json', 'reupholster-seat-pad.json', 'robot-mower-setup.json',
    'rosemary-focaccia.json', 'shortbread.json', 'shower-head-descale.json', 'squeaky-door-hinge.json',
    'thai-green-curry.json', 'three-bean-salad.json', 'three-jar-pickles.json', 'vacuum-drive-belt.json',
    'wash-kitchen-cupboards.json', 'wiper-blade.json',
)
NOT_AT = {  # task domain: place domains its scenes must never stand in
    'diy': {'kitchen'},
    'repair': {'kitchen'},
    'garden': {'kitchen'},
    'cooking': {'workshop', 'garden'},
    'baking': {'workshop', 'garden'},
}

SYNONYMS = {
    'soil': ('soil', 'compost'),
    'plant': ('plant', 'seedling'),
    'tomato': ('tomato',),
    'eggs': ('egg',),
    'herbs': ('herbs',),
    'screws': ('screw',),
    'paint': ('paint',),
}
BG_WORDS = {'counter': 'counter', 'stove': 'stove', 'workbench': 'workbench', 'wall': 'wall'}


def _has(text: str, words) -> bool:
    "Whether any of `words` occurs in `text` (case-insensitive, word start)."
    return any(re.search(r'\b' + re.escape(w), text, re.I) for w in words)


def toy_required(t, i: int) -> list[tuple[str, tuple]]:
    "The (attribute, accepted words) a caption of toy step `i` must contain."
    from msvid.toy.vocab import CONTAINERS

    texts = lambda s: ' '.join(t.steps[k] for k in s)
    a, req = t.attributes[i], []
    names = lambda kind: (CONTAINERS[kind][1], CONTAINERS[kind][2], kind)
    req.append(('container', names(a['container'])))
    if colour_stated(t, i):
        req.append(('colour', (a['colour'],)))
    if a['contents'] != 'empty':
        words = SYNONYMS.get(a['contents'], (a['contents'],))
        if _has(texts(ancestors(t.depends_on, i)), words):
            req.append(('contents', words))
    req.append(('background', (BG_WORDS[a['background']],)))
    for j in t.depends_on[i]:
        aj = t.attributes[j]
        if aj['container'] == a['container']:
            continue
        req.append(('source', names(aj['container'])))
        if colour_stated(t, j):
            req.append(('source colour', (aj['colour'],)))
    return req


def toy_scores(n: int, seed: int, backend: str, **kw) -> dict:
    "Dependency exact match and caption attribute coverage on `n` toy tasks."
    from msvid.toy.tasks import make_task

    dep_ok = dep_n = cap_ok = cap_n = tp = fp = fn = 0
    misses = {}
    warned = 0
    t0 = time.time()
    for k in range(n):
        t = make_task(seed + k)
        with warnings.catch_warnings(record=True) as ws:
            warnings.simplefilter('always')
            sc = decode(Task(t.title, [Step(s) for s in t.steps]), backend, **kw)
        warned += len(ws)
        for i, s in enumerate(sc):
            dep_n += 1
            dep_ok += s.depends_on == t.depends_on[i]
            tp += len(set(s.depends_on) & set(t.depends_on[i]))
            fp += len(set(s.depends_on) - set(t.depends_on[i]))
            fn += len(set(t.depends_on[i]) - set(s.depends_on))
            if not t.depends_on[i]:
                continue
            cap_n += 1
            missing = [name for name, words in toy_required(t, i) if not _has(s.caption, words)]
            cap_ok += not missing
            for m in missing:
                misses[m] = misses.get(m, 0) + 1
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return {
        'steps': dep_n,
        'dep_acc': dep_ok / dep_n,
        'precision': p,
        'recall': r,
        'f1': 2 * p * r / max(1e-9, p + r),
        'dep_steps': cap_n,
        'cap_cov': cap_ok / max(1, cap_n),
        'misses': misses,
        'warnings': warned,
        'seconds': time.time() - t0,
    }


def _place_domains() -> dict[str, str]:
    "The domain of each background as a scene script names it ('kitchen counter' -> 'kitchen')."
    return {place_name(p): place_domain(p) for p in PLACES}


def real_scores(files: list[Path], backend: str, **kw) -> dict:
    "Dependency exact match, precision, recall and F1, and caption checks, on the hand-labelled real task `files`."
    ok = n = cut = 0
    defects, missing, bad_place, dom, counts = [], [], [], _place_domains(), []
    for f in files:
        task = load_task(f)
        gold = task.meta['depends_on']
        with warnings.catch_warnings(record=True) as ws:
            warnings.simplefilter('always')
            sc = decode(task, backend, **kw)
        cut += sum('CLIP tokens' in str(x.message) for x in ws)
        task_counts = [0, 0, 0]  # this task's true positives, false positives, false negatives
        for s, g in zip(sc, gold):
            n += 1
            ok += sorted(s.depends_on) == sorted(g)
            task_counts[0] += len(set(s.depends_on) & set(g))
            task_counts[1] += len(set(s.depends_on) - set(g))
            task_counts[2] += len(set(g) - set(s.depends_on))
            defects += [(f.name, s.index, d) for d in caption_defects(s.caption)]
            missing += [(f.name, s.index, w) for w in missing_words(s.step, s.caption)]
        counts.append(task_counts)
        wrong = [s.background for s in sc if dom.get(s.background, '') in NOT_AT.get(task.meta.get('domain'), ())]
        if wrong:
            bad_place.append((f.name, wrong))
    tp, fp, fn = (sum(c[k] for c in counts) for k in range(3))
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return {
        'tasks': len(files),
        'steps': n,
        'dep_acc': ok / max(1, n),
        'precision': p,
        'recall': r,
        'f1': _f1(tp, fp, fn),
        'f1_ci': f1_interval(counts),
        'defects': defects,
        'missing': missing,
        'cut': cut,
        'bad_place': bad_place,
    }


def _f1(tp: int, fp: int, fn: int) -> float:
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return 2 * p * r / max(1e-9, p + r)


def f1_interval(counts: list, n: int = 2000, seed: int = 0) -> tuple[float, float]:
    "95% bootstrap interval of the arrow F1 over tasks (`counts`: each task's true pos., false pos., false neg.)."
    rng = np.random.default_rng(seed)
    c = np.asarray(counts, dtype=float).reshape(-1, 3)
    sums = c[rng.integers(0, len(c), (n, len(c)))].sum(1)
    f1 = sorted(_f1(*row) for row in sums)
    return f1[int(0.025 * n)], f1[int(0.975 * n) - 1]


def real_splits(folder: str | Path, held_out: tuple, backend: str, **kw) -> dict[str, dict]:
    "`real_scores` on the tuning files, the held-out files, and all of them."
    files = sorted(Path(folder).glob('*.json'))
    tune = [f for f in files if f.name not in held_out]
    held = [f for f in files if f.name in held_out]
    return {
        'tuning': real_scores(tune, backend, **kw),
        'held-out': real_scores(held, backend, **kw),
        'all': real_scores(files, backend, **kw),
    }


def caption_table(name: str, r: dict):
    "The caption checks of one set of real tasks, as a markdown table (the cases themselves to stderr)."
    print(f"\n| real-task captions, {name} ({r['tasks']} files, {r['steps']} captions) | count |")
    print(f"| --- | --- |")
    print(f"| doubled article or determiner, 'a' before a plural | {len(r['defects'])} |")
    print(f"| content words of the step missing from its caption | {len(r['missing'])} |")
    print(f"| captions cut to the CLIP budget (77 tokens) | {r['cut']} |")
    print(f"| tasks with a background outside their domain | {len(r['bad_place'])} of {r['tasks']} |")
    for what in ('defects', 'missing', 'bad_place'):
        if r[what]:
            print(f"{what}: {r[what]}", file=sys.stderr)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=300)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument(
        '--captions',
        '--backend',  # the older name, kept for old notes
        dest='backend',
        default='offline',
        choices=CAPTION_BACKENDS,
        help='caption backend, as `msvid script --captions` (default offline)',
    )
    p.add_argument('--model', default=None, help='model= for the backend (llm: chat LM; seq2seq: folder or hub id)')
    p.add_argument('--real', default=str(Path(__file__).parent / 'real_tasks'))
    p.add_argument('--styles', default=str(Path(__file__).parent / 'real_tasks_styles'))
    p.add_argument('--fresh', default=str(Path(__file__).parent / 'real_tasks_fresh'))
    p.add_argument('--train', default=str(Path(__file__).parent / 'real_tasks_train'))
    p.add_argument(
        '--threads', type=int, default=1, help='torch threads (model backends; one is fastest on a shared CPU)'
    )
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    kw = {'model': a.model} if a.model else {}
    toy = toy_scores(a.n, a.seed, a.backend, **kw)
    real = {f'real tasks, {k}': v for k, v in real_splits(a.real, HELD_OUT, a.backend, **kw).items()}
    styles = real_splits(a.styles, STYLES_HELD_OUT, a.backend, **kw)
    real |= {f'real tasks in new styles, {k}': v for k, v in styles.items()}
    fresh = real_scores(sorted(Path(a.fresh).glob('*.json')), a.backend, **kw)
    real['fresh real tasks, all held out'] = fresh
    train = real_scores(sorted(Path(a.train).glob('*.json')), a.backend, **kw)
    real['real tasks for training, no rule written on them'] = train
    print(
        f"| data | backend | steps | depends_on exact | dep. precision | dep. recall | dep. F1 | caption attribute coverage |"
    )
    print(f"| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| toy world ({a.n} tasks, seeds {a.seed}..{a.seed + a.n - 1}) | {a.backend} | {toy['steps']} | "
        f"{toy['dep_acc']:.1%} | {toy['precision']:.1%} | {toy['recall']:.1%} | {toy['f1']:.3f} | "
        f"{toy['cap_cov']:.1%} (of {toy['dep_steps']} steps with dependencies) |"
    )
    for name, r in real.items():
        lo, hi = r['f1_ci']
        print(
            f"| {name} ({r['tasks']} files) | {a.backend} | {r['steps']} | {r['dep_acc']:.1%} | "
            f"{r['precision']:.1%} | {r['recall']:.1%} | {r['f1']:.3f} [{lo:.3f}, {hi:.3f}] | |"
        )
    sets = {'the first set': real['real tasks, all'], 'the new styles': styles['all'], 'the fresh set': fresh}
    for name, r in (sets | {'the training set': train}).items():
        caption_table(name, r)
    if toy['misses']:
        print(f"\ntoy caption misses by attribute: {toy['misses']}", file=sys.stderr)
    print(
        f"toy world: {toy['warnings']} backend warnings, {toy['seconds']:.1f} s ({toy['seconds'] / max(1, a.n):.3f} s per task)",
        file=sys.stderr,
    )


if __name__ == '__main__':
    main()
