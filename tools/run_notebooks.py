"""Execute lesson notebooks and save them with their outputs, so GitHub and Colab show every lesson with its
pictures. Images are shrunk for the repository (at most 1000 px wide, 128 colours, optimised PNG); cells
flagged `#| slow`, `#| gpu` or `#| eval: false` are skipped, as nbdev-test skips them.

python tools/run_notebooks.py nbs/60_methods/63_cosed.ipynb ...   # these notebooks
python tools/run_notebooks.py                                      # every notebook under nbs/
then: nbdev-clean
"""

import argparse, base64, io, os
from pathlib import Path

from fastcore.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SKIP = ('#| slow', '#| gpu', '#| eval: false', '#|eval: false')
MAX_WIDTH, COLOURS = 1000, 128


def shrink_png(data: str) -> str:
    "A base64 PNG made smaller: scaled to `MAX_WIDTH` at most, quantised to `COLOURS` colours."
    im = Image.open(io.BytesIO(base64.b64decode(data))).convert('RGB')
    if im.width > MAX_WIDTH:
        im = im.resize((MAX_WIDTH, round(im.height * MAX_WIDTH / im.width)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    im.quantize(COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, 'PNG', optimize=True)
    return base64.b64encode(out.getvalue()).decode()


def shrink_images(nb):
    "Every PNG output of `nb` shrunk in place."
    for cell in nb.cells:
        for out in cell.get('outputs', []):
            data = out.get('data', {})
            if 'image/png' in data:
                data['image/png'] = shrink_png(''.join(data['image/png']))


def flagged(cell) -> bool:
    "Whether a cell is left out of a run (slow, GPU or never evaluated), as nbdev-test leaves it out."
    return cell.cell_type == 'code' and any(f in cell.source for f in SKIP)


def run_notebook(path: Path):
    "Execute `path` top to bottom in its own folder (flagged cells skipped) and save it with its outputs."
    nb = read_nb(path)
    for cell in nb.cells:
        if flagged(cell):
            cell.outputs = []
    here = os.getcwd()
    os.chdir(path.parent)
    try:
        CaptureShell().run_all(nb, exc_stop=True, preproc=flagged)
    finally:
        os.chdir(here)
    shrink_images(nb)
    write_nb(nb, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebooks', nargs='*', type=Path, help='notebooks to run (default: all under nbs/)')
    paths = p.parse_args().notebooks or sorted(
        q for q in (ROOT / 'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in q.parts
    )
    for path in paths:
        print(path, flush=True)
        run_notebook(path.resolve())


if __name__ == '__main__':
    main()
