"""Render a widget notebook in a real browser and screenshot the latent-selection histogram widget.

Not a CI test: it needs a Chromium and a few optional packages. It checks what headless tests cannot: that
the widgets of `msvid.eval.widgets` actually render in a browser front end, and that they talk to the kernel
(choosing a method in the dropdown redraws the histogram).

How it works: Voila executes the notebook in a live kernel and serves the page with its own bundled widget
manager (no CDN needed, so it works offline); Playwright drives the system Chromium to that page, waits for
the selection widget (cells flagged slow, gpu or `eval: false` are left out, as in nbdev-test; a Dropdown whose first option is 'all methods', over an Image), screenshots it, picks
another method in the dropdown, waits for the picture to change, and screenshots the whole page as well.

Setup (Debian; Playwright's own browser download is not needed):

    apt-get install -y chromium
    pip install playwright voila ipykernel

Usage:

    python benchmarks/widget_screenshot.py [--notebook nbs/tutorials/toy_benchmark.ipynb] \
        [--out /work/train_logs/widgets.png] [--full-page /work/train_logs/widgets_page.png]

Prints a markdown table of what was checked; exit code 1 if the widget did not render or did not react.
"""

from __future__ import annotations
import argparse, os, socket, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
]


def free_port() -> int:
    "An unused local TCP port."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


SKIP = ('#| slow', '#| gpu', '#| eval: false', '#|eval: false')


def runnable_copy(notebook: Path, folder: Path) -> Path:
    "A copy of `notebook` in `folder` without the cells nbdev-test skips (slow, gpu, eval: false)."
    import json

    nb = json.loads(notebook.read_text())
    keep = lambda c: (
        not (c['cell_type'] == 'code' and any(l.strip().startswith(SKIP) for l in ''.join(c['source']).splitlines()))
    )
    nb['cells'] = [c for c in nb['cells'] if keep(c)]
    out = folder / notebook.name
    out.write_text(json.dumps(nb))
    return out


def start_voila(notebook: Path, port: int, log: Path) -> subprocess.Popen:
    "Serve `notebook` with Voila on 127.0.0.1:`port` (the notebook runs in a kernel of this Python)."
    cmd = [
        sys.executable,
        '-m',
        'voila',
        str(notebook),
        '--no-browser',
        f'--port={port}',
        '--Voila.ip=127.0.0.1',
        '--VoilaExecutor.timeout=1200',
        '--show_tracebacks=True',
    ]
    env = {**os.environ, 'MPLBACKEND': 'Agg', 'OMP_NUM_THREADS': '1'}
    return subprocess.Popen(cmd, cwd=notebook.parent, stdout=log.open('w'), stderr=subprocess.STDOUT, env=env)


def wait_port(port: int, timeout: float = 60):
    "Wait until something listens on `port`."
    t0 = time.time()
    while time.time() - t0 < timeout:
        with socket.socket() as s:
            if s.connect_ex(('127.0.0.1', port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f'nothing listens on port {port} after {timeout}s')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--notebook', default=str(ROOT / 'nbs/tutorials/toy_benchmark.ipynb'))
    p.add_argument('--out', default='/work/train_logs/widgets.png', help='screenshot of the selection widget')
    p.add_argument('--full-page', default='/work/train_logs/widgets_page.png', help='screenshot of the whole page')
    p.add_argument('--chromium', default='/usr/bin/chromium')
    p.add_argument('--timeout', type=float, default=900, help='seconds to wait for the notebook to run')
    a = p.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    port, log = free_port(), out.with_suffix('.voila.log')
    import tempfile

    nb = runnable_copy(Path(a.notebook).resolve(), Path(tempfile.mkdtemp()))
    voila = start_voila(nb, port, log)
    checks = []
    try:
        wait_port(port)
        t0 = time.time()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=a.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={'width': 1280, 'height': 900})
            page.goto(f'http://127.0.0.1:{port}/', timeout=a.timeout * 1000)
            # the selection widget: a VBox holding a dropdown whose first option is 'all methods', then an image
            sel = page.locator('.widget-vbox', has=page.locator('select option', has_text='all methods')).first
            sel.wait_for(state='visible', timeout=a.timeout * 1000)
            img = sel.locator('img').first
            page.wait_for_function('el => el.complete && el.naturalWidth > 0', arg=img.element_handle(), timeout=60000)
            size = img.evaluate('el => [el.naturalWidth, el.naturalHeight]')
            checks.append(('selection histogram image rendered', f'{size[0]}x{size[1]} px', size[0] > 100))
            checks.append(('seconds until the widget showed', f'{time.time() - t0:.0f}', True))
            sel.screenshot(path=str(out))
            before = img.get_attribute('src')
            options = sel.locator('select option').all_inner_texts()
            sel.locator('select').select_option(options[-1])
            try:
                page.wait_for_function(
                    '([el, b]) => el.getAttribute("src") !== b', arg=[img.element_handle(), before], timeout=60000
                )
                changed = True
            except Exception:
                changed = False
            checks.append((f'dropdown -> {options[-1]!r} redraws (kernel round trip)', str(changed), changed))
            sel.screenshot(path=str(out.with_name(out.stem + f'_{options[-1]}.png')))
            now = img.get_attribute('src')
            sel.locator('select').select_option('all methods')  # back to the main screenshot's state
            page.wait_for_function(
                '([el, b]) => el.getAttribute("src") !== b', arg=[img.element_handle(), now], timeout=60000
            )
            page.evaluate('window.scrollTo(0, 0)')
            page.screenshot(path=a.full_page, full_page=True)
            browser.close()
    finally:
        voila.terminate()
        try:
            voila.wait(20)
        except subprocess.TimeoutExpired:
            voila.kill()
    print('| check | value | ok |\n|---|---|---|')
    for name, value, ok in checks:
        print(f'| {name} | {value} | {"yes" if ok else "NO"} |')
    print(f'\nscreenshot: {out}\nfull page: {a.full_page}\nvoila log: {log}')
    sys.exit(0 if checks and all(ok for *_, ok in checks) else 1)


if __name__ == '__main__':
    main()
