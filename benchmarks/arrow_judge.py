"""The learned arrow judge (`msvid.script.arrows`): its training recipe, cross-validation, held-out sets, toy world.

    python benchmarks/arrow_judge.py train OUT            # the shipped recipe, on the 168 training and tuning tasks
    python benchmarks/arrow_judge.py cv [--folds 10]      # cross-validation by task on real_tasks_train
    python benchmarks/arrow_judge.py heldout [--model M]  # the three held-out sets (M: a judge folder; default shipped)
    python benchmarks/arrow_judge.py toy [--n 300]        # toy-world tasks, seeds 0..n-1

The judge trains on `real_tasks_train` (120 tasks) and the tuning parts of `real_tasks` (22) and `real_tasks_styles`
(26); the held-out parts (`HELD_OUT`, `STYLES_HELD_OUT`) and `real_tasks_fresh` never enter its training. `cv` fits
the lexicon and the weights on the other folds only. Arrow precision, recall and F1 with 95% bootstrap intervals
over tasks, and judge - tracker paired by task (the same resampled tasks for both).
"""

from __future__ import annotations
import argparse
from pathlib import Path

import torch

from msvid.core.records import Step, Task
from msvid.io.taskfile import load_task
from msvid.script.arrows import fit_arrow_judge, load_arrow_judge, save_arrow_judge, tracked_arrows
from msvid.toy.tasks import make_task
from label_agreement import counts, paired_gap, row  # benchmarks/ is the script's folder
from script_accuracy import HELD_OUT, STYLES_HELD_OUT

HERE = Path(__file__).parent
HELD_OUT_SETS = {
    'fresh real tasks (30 files)': sorted((HERE / 'real_tasks_fresh').glob('*.json')),
    'new styles, held-out (26 files)': [HERE / 'real_tasks_styles' / n for n in STYLES_HELD_OUT],
    'first set, held-out third (11 files)': [HERE / 'real_tasks' / n for n in HELD_OUT],
}


def training_files() -> list[Path]:
    "The judge's training tasks: `real_tasks_train` and the tuning parts of `real_tasks` and `real_tasks_styles`."
    tuning = lambda folder, held: [p for p in sorted((HERE / folder).glob('*.json')) if p.name not in held]
    train = sorted((HERE / 'real_tasks_train').glob('*.json'))
    return train + tuning('real_tasks', HELD_OUT) + tuning('real_tasks_styles', STYLES_HELD_OUT)


def compare(judge, tasks: list[Task], gold: list[list]) -> tuple[list, list]:
    "Per task: the judge's and the tracker's arrow counts against `gold`."
    tracked = [tracked_arrows(t) for t in tasks]
    judged = [counts(judge.arrows(t.texts, tr), g) for t, tr, g in zip(tasks, tracked, gold)]
    return judged, [counts(tr, g) for tr, g in zip(tracked, gold)]


def table(name: str, judged: list, tracker: list) -> str:
    gap = 'judge - tracker, paired by task: {:+.3f} [{:+.3f}, {:+.3f}]'.format(*paired_gap(judged, tracker))
    head = '| arrows | precision | recall | F1 |\n|---|---|---|---|'
    return f'\n{name}\n\n{head}\n{row("judge", judged)}\n{row("offline tracker", tracker)}\n\n{gap}'


def cross_validated(folds: int) -> tuple[list, list]:
    "Arrow counts of the judge on each `real_tasks_train` task, trained on the other folds, and the tracker's."
    tasks = [load_task(p) for p in sorted((HERE / 'real_tasks_train').glob('*.json'))]
    judged, tracker = [None] * len(tasks), [None] * len(tasks)
    for k in range(folds):
        judge = fit_arrow_judge([t for m, t in enumerate(tasks) if m % folds != k])
        mine = list(range(k, len(tasks), folds))
        j, t = compare(judge, [tasks[m] for m in mine], [tasks[m].meta['depends_on'] for m in mine])
        for m, a, b in zip(mine, j, t):
            judged[m], tracker[m] = a, b
    return judged, tracker


def toy_tasks(n: int) -> tuple[list[Task], list[list]]:
    made = [make_task(s) for s in range(n)]
    return [Task(t.title, [Step(s) for s in t.steps]) for t in made], [t.depends_on for t in made]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('what', choices=('train', 'cv', 'heldout', 'toy'))
    ap.add_argument('out', nargs='?', help='train: the folder to write')
    ap.add_argument('--folds', type=int, default=10)
    ap.add_argument('--model', default=None, help='a judge folder (default: the shipped judge)')
    ap.add_argument('--n', type=int, default=300)
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.what == 'train':
        files = training_files()
        judge = fit_arrow_judge([load_task(p) for p in files])
        record = dict(recipe='python benchmarks/arrow_judge.py train OUT', tasks=len(files),
                      files=[str(p.relative_to(HERE)) for p in files])  # fmt: skip
        print(f'{len(files)} tasks -> {save_arrow_judge(judge, a.out, record)}')
    elif a.what == 'cv':
        print(table(f'real_tasks_train, {a.folds}-fold cross-validation by task', *cross_validated(a.folds)))
    elif a.what == 'heldout':
        judge = load_arrow_judge(a.model)
        for name, files in HELD_OUT_SETS.items():
            tasks = [load_task(p) for p in files]
            print(table(name, *compare(judge, tasks, [t.meta['depends_on'] for t in tasks])))
    else:
        print(table(f'toy world, seeds 0..{a.n - 1}', *compare(load_arrow_judge(a.model), *toy_tasks(a.n))))


if __name__ == '__main__':
    main()
