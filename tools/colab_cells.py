"""Give every lesson notebook the same first code cell: on Colab it installs msvid from the repository that
pyproject.toml names (the install README gives) and turns on Colab's widget manager; elsewhere it does nothing.

python tools/colab_cells.py           # add or refresh the cell in every notebook under nbs/
python tools/colab_cells.py --check   # exit 1 if a notebook lacks it or has an old one
"""

import argparse, json, sys, tomllib, uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARK = '# Colab only:'


def install_source() -> str:
    "The pip requirement that installs msvid from its repository (pyproject.toml's `Repository` URL)."
    url = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']['urls']['Repository']
    return f'msvid @ git+{url}'


def colab_cell() -> str:
    "The source of the install cell."
    return f'''#| hide
{MARK} install msvid as README says, and turn on the widget manager (elsewhere this cell does nothing)
import sys

if 'google.colab' in sys.modules:
    import subprocess

    source = {install_source()!r}
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', source], check=True)
    from google.colab import output

    output.enable_custom_widget_manager()'''


def notebooks() -> list[Path]:
    "Every notebook with a Colab badge in README: all of nbs/ but the index."
    return sorted(p for p in (ROOT / 'nbs').rglob('*.ipynb') if p.name != 'index.ipynb' and '.ipynb_checkpoints' not in p.parts)


def source(cell: dict) -> str:
    return cell['source'] if isinstance(cell['source'], str) else ''.join(cell['source'])


def first_code(nb: dict) -> int | None:
    "Index of the first code cell."
    return next((k for k, c in enumerate(nb['cells']) if c['cell_type'] == 'code'), None)


def has_cell(nb: dict) -> bool:
    "Whether the notebook's first code cell is the current install cell."
    k = first_code(nb)
    return k is not None and source(nb['cells'][k]) == colab_cell()


def add_cell(nb: dict) -> dict:
    "The notebook with the install cell as its first code cell (an older one replaced)."
    cells = [c for c in nb['cells'] if not (c['cell_type'] == 'code' and MARK in source(c))]
    at = next((k for k, c in enumerate(cells) if c['cell_type'] == 'code'), len(cells))
    cell = dict(cell_type='code', execution_count=None, id=uuid.uuid4().hex[:8], metadata={}, outputs=[],
                source=colab_cell())  # fmt: skip
    return {**nb, 'cells': cells[:at] + [cell] + cells[at:]}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--check', action='store_true', help='fail if a notebook lacks the current install cell')
    missing = []
    for path in notebooks():
        nb = json.loads(path.read_text())
        if has_cell(nb):
            continue
        missing.append(path.relative_to(ROOT))
        if not p.parse_args().check:
            path.write_text(json.dumps(add_cell(nb), indent=1, ensure_ascii=False) + '\n')
    if p.parse_args().check and missing:
        sys.exit('notebooks without the Colab install cell (run python tools/colab_cells.py): ' + ', '.join(map(str, missing)))
    print(f'{len(missing)} notebooks updated' if missing else 'every notebook has the Colab install cell')


if __name__ == '__main__':
    main()
