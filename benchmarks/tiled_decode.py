"""One tiled decode of an autoencoder at full width with random weights (float32, CPU), its peak memory beside the
memory plan's estimate with tiles (`msvid.models.plan.decode_gib(..., tiled=True)`) and without.

    python benchmarks/tiled_decode.py KEY HEIGHT WIDTH FRAMES      e.g. cogvideox-i2v 480 720 9

The peak is measured as `dry_run.py` measures a step: resident memory above the built model (`VmHWM` after a reset).
Prints one JSON line.
"""

import json, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import torch

from dry_run import _base_rss, _build, _randn, reset_peak, rss_gib
from msvid.models.plan import GEOMETRY, decode_gib


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    key, (h, w, frames) = args[0], map(int, args[1:4])
    torch.set_num_threads(2)
    _base_rss(key, 'vae')
    m = _build(key, 'vae', torch.float32)
    m.enable_tiling()
    f, _, stride, _ = GEOMETRY[key]
    ch = getattr(m.config, 'latent_channels', None) or m.config.z_dim
    z = _randn(1, ch, 1 + (frames - 1) // stride, h // f, w // f)
    built = rss_gib()
    reset_peak()
    t0 = time.time()
    with torch.inference_mode():
        m.decode(z)
    row = dict(key=key, size=[h, w, frames], peak_gib=round(rss_gib('VmHWM') - built, 3),
               plan_gib=round(decode_gib(key, h, w, frames, 4, tiled=True), 3),
               untiled_plan_gib=round(decode_gib(key, h, w, frames, 4), 3), seconds=round(time.time() - t0, 1))  # fmt: skip
    print(json.dumps(row))
    return 0


if __name__ == '__main__':
    sys.exit(main())
