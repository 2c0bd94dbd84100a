"""A learned arrow judge over the offline tracker, cross-validated on `real_tasks_train` (an experiment; not shipped).

    python benchmarks/arrow_judge.py [--folds 10] [--threads 1]

Candidate arrows of each step: the tracker's, those of a lexical reading (each content word of the step back to the
last step that said it; "it"/"them" or no content word: the step before), and the step before. A logistic regression
on features of each candidate (who proposed it, distance, shared words and how often such words name an entity in
the training labels, pronouns, the tracker's doubt) keeps the arrows it scores above 0.5. Folds split the 120 tasks;
the word lexicon and the weights are fitted on the other folds only. Prints arrow F1 with 95% bootstrap intervals
over tasks, the judge against the tracker paired by task, and the recall the candidates allow.
"""

from __future__ import annotations
import argparse, json, math, warnings
from collections import Counter
from pathlib import Path

import torch

from msvid.io.taskfile import load_task
from msvid.script.llm import tracker_doubts
from msvid.script.offline import offline_scripts
from msvid.script.words import ADJECTIVES, COUNTS, MEASURES, NON_OBJECTS, STOP_WORDS, STUFF_ADJ, VERBS, singular, tokens
from label_agreement import counts, paired_gap, row  # benchmarks/ is the script's folder

SKIP = STOP_WORDS | NON_OBJECTS | set(VERBS) | COUNTS | MEASURES | ADJECTIVES | STUFF_ADJ


def content_words(text: str) -> tuple[set[str], bool]:
    "The step's content words (singular), and whether it says 'it', 'them' or 'they'."
    ws = [t[0].lower() for t in tokens(text)]
    keep = {singular(w) for w in ws if w.isalpha() and len(w) > 2 and w not in SKIP and not w.endswith('ly')}
    return keep, any(w in ('it', 'them', 'they') for w in ws)


def lexical_arrows(words: list[tuple[set, bool]]) -> list[set[int]]:
    "Each step's arrows by words: each content word to its last earlier step; a pronoun or none: the step before."
    said, out = [], []
    for i, (ws, pron) in enumerate(words):
        arrows = {next(j for j in range(i - 1, -1, -1) if w in said[j]) for w in ws if any(w in s for s in said)}
        mine = set(ws)
        if i and (pron or not ws):
            arrows.add(i - 1)
            mine |= said[i - 1]
        said.append(mine)
        out.append(arrows)
    return out


def read_task(path: Path) -> dict:
    task = load_task(path)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        tracked, doubts = [set(s.depends_on) for s in offline_scripts(task)], tracker_doubts(task)
    meta, words = json.loads(path.read_text())['meta'], [content_words(t) for t in task.texts]
    return dict(tracked=tracked, lexical=lexical_arrows(words), words=words, doubts=doubts,
                gold=meta['depends_on'], entities=meta['entities'])  # fmt: skip


def entity_words(tasks: list[dict]) -> dict[str, float]:
    "Per content word: how often a step that says it lists it in an entity (add-one smoothed)."
    hit, seen = Counter(), Counter()
    for t in tasks:
        for (ws, _), ents in zip(t['words'], t['entities']):
            named = {w for e in ents for w in content_words(e)[0]}
            seen.update(ws)
            hit.update(w for w in ws if w in named)
    return {w: (hit[w] + 1) / (seen[w] + 2) for w in seen}


def candidates(t: dict, lex: dict) -> list[tuple[int, int, list[float]]]:
    "`(step, earlier step, features)` for every candidate arrow of task `t`."
    out = []
    for i, (ws, pron) in enumerate(t['words']):
        for j in sorted(t['tracked'][i] | t['lexical'][i] | ({i - 1} if i else set())):
            tr, lx = j in t['tracked'][i], j in t['lexical'][i]
            shared = ws & t['words'][j][0]
            last = {w for w in shared if not any(w in t['words'][m][0] for m in range(j + 1, i))}
            f = [1, tr, lx, tr and lx, j == i - 1, math.log(i - j), min(len(last), 3),
                 max([lex.get(w, 0.5) for w in last], default=0), max([lex.get(w, 0.5) for w in shared], default=0),
                 pron, not ws, len(t['tracked'][i]), len(t['lexical'][i]), bool(t['doubts'][i]),
                 j == i - 1 and not (tr or lx)]  # fmt: skip
            out.append((i, j, [float(x) for x in f]))
    return out


def fit(tasks: list[dict], lex: dict, l2: float = 1e-2) -> torch.Tensor:
    "Logistic-regression weights on the candidates of `tasks` (L2 on all but the bias)."
    rows = [(v, float(j in t['gold'][i])) for t in tasks for i, j, v in candidates(t, lex)]
    X, y = torch.tensor([r[0] for r in rows], dtype=torch.float64), torch.tensor([r[1] for r in rows], dtype=torch.float64)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=300, line_search_fn='strong_wolfe')

    def loss():
        opt.zero_grad()
        value = torch.nn.functional.binary_cross_entropy_with_logits(X @ w, y) + l2 * (w[1:] ** 2).sum()
        value.backward()
        return value

    opt.step(loss)
    return w.detach()


def judged(t: dict, lex: dict, w: torch.Tensor) -> list[list[int]]:
    out = [[] for _ in t['gold']]
    for i, j, v in candidates(t, lex):
        if float(torch.tensor(v, dtype=torch.float64) @ w) > 0:
            out[i].append(j)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--folds', type=int, default=10)
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tasks = [read_task(f) for f in sorted((Path(__file__).parent / 'real_tasks_train').glob('*.json'))]
    judge = [None] * len(tasks)
    for k in range(a.folds):
        train = [t for m, t in enumerate(tasks) if m % a.folds != k]
        lex = entity_words(train)
        w = fit(train, lex)
        for m in range(k, len(tasks), a.folds):
            judge[m] = counts(judged(tasks[m], lex, w), tasks[m]['gold'])
    tracker = [counts(t['tracked'], t['gold']) for t in tasks]
    cand = [sum(j in t['tracked'][i] | t['lexical'][i] | {i - 1} for i, g in enumerate(t['gold']) for j in g) for t in tasks]
    print(f'{len(tasks)} tasks of real_tasks_train, {a.folds}-fold cross-validation by task\n')
    print('| decoder | arrow precision | arrow recall | arrow F1 |\n|---|---|---|---|')
    print(row('arrow judge (held-out folds)', judge) + '\n' + row('offline tracker', tracker))
    print('\njudge - tracker, paired by task: {:+.3f} [{:+.3f}, {:+.3f}]'.format(*paired_gap(judge, tracker)))
    print(f'recall the candidates allow: {sum(cand) / sum(len(g) for t in tasks for g in t["gold"]):.1%}')


if __name__ == '__main__':
    main()
