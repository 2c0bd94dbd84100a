"Every notebook runs top to bottom (skipping cells flagged slow or gpu), each as its own test."

import subprocess, sys
from pathlib import Path

import pytest

NBS = sorted(p for p in (Path(__file__).parents[1] / 'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)


@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb):
    r = subprocess.run(
        [Path(sys.executable).parent / 'nbdev-test', str(nb)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
