"""Generate README.md from nbs/index.ipynb (nbdev 3 renders it with Quarto, which cannot be installed here).

python tools/make_readme.py           # write README.md
python tools/make_readme.py --check   # exit 1 if README.md is out of date
"""

import argparse, re, sys
from pathlib import Path

import nbformat
from nbconvert import MarkdownExporter
from nbconvert.preprocessors import Preprocessor

ROOT = Path(__file__).resolve().parents[1]
DIRECTIVE = re.compile(r'^\s*#\|\s*(.*)$')


class NbdevCells(Preprocessor):
    "Drop cells marked `#| hide`, and the `#|` directive lines of the others."

    def preprocess(self, nb, resources):
        keep = []
        for cell in nb.cells:
            lines = cell.source.splitlines()
            directives = [m.group(1).strip() for m in map(DIRECTIVE.match, lines) if m]
            if cell.cell_type == 'code' and any(d.startswith('hide') for d in directives):
                continue
            if cell.cell_type == 'code':
                cell.source = '\n'.join(l for l in lines if not DIRECTIVE.match(l)).strip()
            keep.append(cell)
        nb.cells = keep
        return nb, resources


def render(nb_path: Path = ROOT / 'nbs' / 'index.ipynb') -> str:
    "README.md's text from the index notebook."
    nb = nbformat.read(nb_path, as_version=4)
    exporter = MarkdownExporter()
    exporter.register_preprocessor(NbdevCells, enabled=True)
    body, _ = exporter.from_notebook_node(nb)
    note = '<!-- generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file -->\n\n'
    return note + re.sub(r'\n{3,}', '\n\n', body).strip() + '\n'


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--check', action='store_true', help='fail if README.md differs from the notebook')
    text, readme = render(), ROOT / 'README.md'
    if p.parse_args().check:
        if not readme.exists() or readme.read_text() != text:
            sys.exit('README.md is out of sync with nbs/index.ipynb: run python tools/make_readme.py')
        print('README.md is in sync with nbs/index.ipynb')
    else:
        readme.write_text(text)
        print(f'wrote {readme}')


if __name__ == '__main__':
    main()
