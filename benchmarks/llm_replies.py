"""The LLM backend on real tasks, fed the replies a chat model wrote to its own prompts.

    python benchmarks/llm_replies.py prompts OUT --set fresh [--no-hints]   # one prompt file per task
    python benchmarks/llm_replies.py score REPLIES --set fresh              # arrow F1 of the backend on them
    python benchmarks/llm_replies.py score REPLIES --set train --against OTHER  # two prompts' replies, paired

`prompts` writes the chat messages msvid's `llm` backend sends for each task of a labelled set (`build_messages`),
as text with one `### role` header per message, for a chat model that msvid cannot run here. `score` decodes each
task with `llm_scripts`, its `generate` answering with the stored reply (`REPLIES/<task>.txt`): the reply goes through
the backend's own JSON extraction, schema check and fallback, exactly as in a run, and the arrows are scored as in
`script_accuracy.py` (arrow F1 against the first labels, 95% bootstrap interval over tasks), beside the offline
tracker's on the same tasks and the paired difference. A reply that fails the schema check counts as the backend's
fallback (the offline tracker), as a run would use.

Sets: `fresh` (all 30 files of `real_tasks_fresh`, held out), `styles-held-out` (the held-out half of
`real_tasks_styles`), `first-held-out` (the held-out third of `real_tasks`), `train` (`real_tasks_train`, the set
prompt choices are made on).
"""

from __future__ import annotations
import argparse, json, warnings
from pathlib import Path

import numpy as np

from msvid.io.taskfile import load_task
from msvid.script.llm import build_messages, llm_scripts
from msvid.script.offline import caption_defects
from label_agreement import counts, paired_gap, row, tracker_arrows  # benchmarks/ is the script's folder
from script_accuracy import HELD_OUT, STYLES_HELD_OUT

HERE = Path(__file__).parent


def set_files(name: str) -> list[Path]:
    "The task files of a labelled set."
    if name == 'styles-held-out':
        return [HERE / 'real_tasks_styles' / n for n in sorted(STYLES_HELD_OUT)]
    if name == 'first-held-out':
        return [HERE / 'real_tasks' / n for n in sorted(HELD_OUT)]
    return sorted((HERE / {'fresh': 'real_tasks_fresh', 'train': 'real_tasks_train'}[name]).glob('*.json'))


def prompt_text(messages: list[dict]) -> str:
    "Chat messages as text: a `### role` header before each message."
    return '\n\n'.join(f"### {m['role']}\n{m['content']}" for m in messages) + '\n'


def write_prompts(files: list[Path], out: Path, hints: bool):
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # the tracker's hints warn about captions cut to the CLIP budget
            messages = build_messages(load_task(f), hints=hints)
        (out / f'{f.stem}.txt').write_text(prompt_text(messages))
    print(f'{len(files)} prompts in {out}')


def replayed(task_file: Path, replies: Path) -> tuple[list, bool, int]:
    "The backend's scripts for `task_file` answered with its stored reply, whether it passed the check, captions cut."
    reply = (replies / f'{task_file.stem}.txt').read_text()
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        scripts = llm_scripts(load_task(task_file), generate=lambda msgs: reply, max_tries=1)
    said = [str(w.message) for w in ws]
    return scripts, not any('no valid reply' in w for w in said), sum('CLIP tokens' in w for w in said)


def caption_checks(got: list) -> str:
    "Two of the caption checks `script_accuracy.py` runs, over the replayed scripts `got`."
    caps = [s for scripts, _, _ in got for s in scripts]
    defects = sum(len(caption_defects(s.caption)) for s in caps)
    return (f"captions ({len(caps)}): {defects} doubled determiners or 'a' before a plural, "
            f"{sum(cut for *_, cut in got)} cut to the CLIP budget")  # fmt: skip


def score(files: list[Path], replies: Path, against: Path | None = None):
    folders = [replies] + ([against] if against else [])
    files = [f for f in files if all((d / f'{f.stem}.txt').exists() for d in folders)]
    gold = [json.loads(f.read_text())['meta']['depends_on'] for f in files]
    got = {d: [replayed(f, d) for f in files] for d in folders}
    arrows = {f'llm backend, replies in {d}': [counts([s.depends_on for s in sc], g) for (sc, *_), g in zip(got[d], gold)]
              for d in folders}  # fmt: skip
    arrows['offline tracker'] = [counts(tracker_arrows(f), g) for f, g in zip(files, gold)]
    valid = ', '.join(f'{sum(ok for _, ok, _ in got[d])} of {len(files)} in {d}' for d in folders)
    print(f'{len(files)} tasks ({sum(map(len, gold))} steps) with a reply in every folder; '
          f'replies that passed the schema check: {valid}\n')  # fmt: skip
    print('| decoder | arrow precision | arrow recall | arrow F1 |\n|---|---|---|---|')
    print('\n'.join(row(k, c) for k, c in arrows.items()))
    first, *rest = arrows.values()
    for name, other in zip(list(arrows)[1:], rest):
        print(f'\nfirst row - {name}, paired by task: ' + '{:+.3f} [{:+.3f}, {:+.3f}]'.format(*paired_gap(first, other)))
    exact = np.mean([sorted(s.depends_on) == sorted(y) for (sc, *_), g in zip(got[replies], gold) for s, y in zip(sc, g)])
    print(f'\nfirst row: exact depends_on on {exact:.1%} of steps; {caption_checks(got[replies])}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('what', choices=('prompts', 'score'))
    ap.add_argument('folder', type=Path, help='prompts: where to write them; score: the replies')
    ap.add_argument('--set', required=True, choices=('fresh', 'styles-held-out', 'first-held-out', 'train'))
    ap.add_argument('--no-hints', action='store_true', help="prompts without the offline tracker's reading")
    ap.add_argument('--against', type=Path, help='score: replies to compare with, paired by task')
    a = ap.parse_args()
    if a.what == 'prompts':
        write_prompts(set_files(a.set), a.folder, not a.no_hints)
    else:
        score(set_files(a.set), a.folder, a.against)


if __name__ == '__main__':
    main()
