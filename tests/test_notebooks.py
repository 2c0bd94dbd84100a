"""Every notebook runs top to bottom (skipping cells flagged slow or gpu): one `nbdev-test` over nbs/ with two
workers, which start Python and import the libraries once each instead of once per notebook."""

import json, os, re, subprocess, sys
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


DRAWS = re.compile(r'\bplot_\w+\(|\bplt\.|\.imshow\(')
SKIPPED = ('#| slow', '#| gpu', '#| eval: false')


def notebook_paths() -> list[Path]:
    return sorted(p for p in (ROOT / 'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)


def test_notebooks_that_draw_are_saved_with_pictures():
    "A lesson that draws is committed executed, so GitHub and Colab's first view show its figures."
    missing = []
    for path in notebook_paths():
        cells = [c for c in json.loads(path.read_text())['cells'] if c['cell_type'] == 'code']
        runs = [c for c in cells if not any(f in ''.join(c['source']) for f in SKIPPED)]
        draws = any(DRAWS.search(''.join(c['source'])) for c in runs)
        pictures = any('image/png' in o.get('data', {}) for c in cells for o in c.get('outputs', []))
        if draws and not pictures:
            missing.append(str(path.relative_to(ROOT)))
    assert not missing, f'notebooks that draw but were committed without image outputs: {missing}'


def test_every_notebook_starts_with_the_colab_install_cell():
    r = subprocess.run([sys.executable, ROOT / 'tools' / 'colab_cells.py', '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_readme_lists_every_notebook_and_links_only_real_ones():
    readme = (ROOT / 'README.md').read_text()
    linked = set(re.findall(r'\]\((nbs/[\w/]+\.ipynb)\)', readme))
    missing = sorted(str(p.relative_to(ROOT)) for p in notebook_paths() if p.name != "index.ipynb")
    assert not [l for l in linked if not (ROOT / l).exists()], sorted(l for l in linked if not (ROOT / l).exists())
    assert not [m for m in missing if m not in linked], [m for m in missing if m not in linked]
