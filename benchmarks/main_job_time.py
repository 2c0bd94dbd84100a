"""Wall time of README's main job (`msvid generate examples/toy-kitchen.json`), interleaved with a baseline checkout,
and whether the two write the same bytes.

python benchmarks/main_job_time.py [--baseline /path/to/old/checkout] [--runs 5]

Each run is a fresh process (imports included), as a user meets it. Pass a checkout of an earlier commit (e.g.
`git worktree add /tmp/base COMMIT`) to compare on the same machine state; its code is run with PYTHONPATH, so the
baseline must not need entry points this checkout lacks. Prints best and median per variant, then every file of the
run that differs between the variants (manifest.json aside: it records times).
"""

import argparse, hashlib, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_once(src: Path, out: Path) -> float:
    "Seconds for one `msvid generate` of the toy kitchen with the code in `src`, written to `out`."
    t0 = time.perf_counter()
    subprocess.run([sys.executable, '-m', 'msvid', 'generate', 'examples/toy-kitchen.json', '--out', str(out), '--quiet'],
                   cwd=src, env={**os.environ, 'PYTHONPATH': str(src)}, check=True, capture_output=True)  # fmt: skip
    return time.perf_counter() - t0


def digests(run: Path) -> dict:
    "{relative path: sha256} of a run's files, manifest.json aside."
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run.rglob('*')) if p.is_file() and p.name != 'manifest.json'}  # fmt: skip


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--baseline', type=Path, help='a checkout of an earlier commit to time beside this one')
    ap.add_argument('--runs', type=int, default=5)
    a = ap.parse_args()
    variants = {'this checkout': ROOT} | ({'baseline': a.baseline.resolve()} if a.baseline else {})
    times = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.runs):
            for v, src in variants.items():
                times[v].append(run_once(src, Path(tmp) / f'{len(times[v])}-{v}'))
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end\n")
        print('| code | best (s) | median (s) | runs |\n|---|---|---|---|')
        for v, ts in times.items():
            print(f'| {v} | {min(ts):.2f} | {statistics.median(ts):.2f} | {len(ts)} |')
        if a.baseline:
            d = [digests(Path(tmp) / f'0-{v}') for v in variants]
            diff = sorted(k for k in set(d[0]) | set(d[1]) if d[0].get(k) != d[1].get(k))
            print('\nfiles that differ:', ', '.join(diff) or 'none')
