"""Every notebook runs top to bottom (skipping cells flagged slow or gpu): one `nbdev-test` over nbs/ with two
workers, which start Python and import the libraries once each instead of once per notebook."""

import os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_every_notebook_runs():
    nbs = [p for p in (ROOT / 'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts]
    assert len(nbs) > 40, nbs
    r = subprocess.run(
        [Path(sys.executable).parent / 'nbdev-test', '--n-workers', '2'],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, 'OMP_NUM_THREADS': '1'},
    )
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-6000:]
