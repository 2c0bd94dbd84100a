"""Hash what every method writes on the bundled examples (keyframes, stored latents, shots), so a refactor can show
that its outputs are byte-identical.

python tools/fingerprint.py OUT.json [--examples toy-kitchen,tomato-omelette] [--methods cosed,...]
python tools/fingerprint.py --compare BEFORE.json AFTER.json      # lists every file whose hash changed

Toy preset, CPU, one torch thread. `ip-refs` runs on a tiny random SD pipeline with a tiny IP-Adapter (the toy
preset ships none); shots use the toy warp-then-denoise path (with `--shot-paint` when it exists) and a tiny SVD.
"""

import argparse, hashlib, json, shutil, sys, tempfile
from pathlib import Path

import torch

from msvid.io.taskfile import load_task
from msvid.methods.registry import method_names
from msvid.models.presets import resolve_config
from msvid.pipeline.generate import generate

ROOT = Path(__file__).resolve().parents[1]
HASHED = ('keyframe.png', 'latents.safetensors', 'shot.mp4')


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def run_hashes(run_dir: Path) -> dict:
    "{scenes/NN/FILE: sha256 prefix} of the files later scenes and users read, plus the manifest's choices."
    out = {}
    for f in sorted(run_dir.glob('scenes/*/*')):
        if f.name in HASHED:
            out[str(f.relative_to(run_dir))] = _digest(f)
    m = json.loads((run_dir / 'manifest.json').read_text())
    for k, s in enumerate(m['scenes']):
        out[f'choice/{k}'] = [s['chosen'], s['unet_evals'], s['latent_pixel_evals']]
    return out


def _tiny_ip_config(tmp: Path) -> dict:
    "Overrides that run `ip-refs` on a tiny random SD pipeline with a tiny IP-Adapter."
    from msvid.testing import tiny_sd_pipeline
    from msvid.testing_parts import tiny_ip_adapter

    pipe = tiny_sd_pipeline(seed=0)
    pipe.save_pretrained(tmp / 'sd')
    spec = tiny_ip_adapter(pipe.unet, tmp / 'ip')
    return dict(model=str(tmp / 'sd'), ip_adapter=spec, height=16, width=16, num_inference_steps=3)


def fingerprint(examples: list[str], methods: list[str], tmp: Path) -> dict:
    torch.set_num_threads(1)
    out = {}
    for ex in examples:
        task = load_task(ROOT / 'examples' / ex)
        for method in methods:
            extra = _tiny_ip_config(tmp) if method == 'ip-refs' else {}
            for shots in (False, True):
                if shots and method not in ('cosed', 'independent'):
                    continue
                cfg = resolve_config('toy', method=method, device='cpu', quiet=True, shots=shots, **extra)
                d = tmp / f'{ex}-{method}-{shots}'
                generate(task, d, cfg)
                out[f'{ex}/{method}/clips={shots}'] = run_hashes(d)
                shutil.rmtree(d)
                print(ex, method, shots, flush=True)
    return out


def _current(files: dict) -> dict:
    "`files` under today's names: a scene's clip.mp4 is its shot.mp4 now (the same bytes are expected under it)."
    return {k.replace('/clip.mp4', '/shot.mp4'): v for k, v in files.items()}


def compare(before: dict, after: dict) -> list[str]:
    "Every (run, file) whose hash differs or that only one side has (old file names read as today's)."
    diffs = []
    for run in sorted(set(before) | set(after)):
        b, a = _current(before.get(run, {})), _current(after.get(run, {}))
        diffs += [f'{run}: {f}' for f in sorted(set(a) | set(b)) if a.get(f) != b.get(f)]
    return diffs


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out', nargs='?')
    p.add_argument('--examples', default='toy-kitchen.json,tomato-omelette.json')
    p.add_argument('--methods', default='')
    p.add_argument('--compare', nargs=2, metavar=('BEFORE', 'AFTER'))
    a = p.parse_args()
    if a.compare:
        d = compare(*(json.loads(Path(f).read_text()) for f in a.compare))
        print('\n'.join(d) or 'identical')
        sys.exit(1 if d else 0)
    methods = a.methods.split(',') if a.methods else method_names()
    with tempfile.TemporaryDirectory() as tmp:
        result = fingerprint(a.examples.split(','), methods, Path(tmp))
    Path(a.out).write_text(json.dumps(result, indent=1, sort_keys=True))
    print('wrote', a.out, sum(len(v) for v in result.values()), 'hashes')
