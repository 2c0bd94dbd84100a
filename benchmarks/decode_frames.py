"""How an autoencoder's decode peak grows with the shot's length: one video autoencoder at full width with random
weights (float32, CPU, not tiled), decoding shots of several frame counts, each peak beside the memory plan's
estimate (`msvid.models.plan.decode_gib`).

    python benchmarks/decode_frames.py KEY HEIGHT WIDTH FRAMES [FRAMES ...]   e.g. cogvideox-i2v 256 256 9 13 17 25

The peak is measured as `dry_run.py` measures a step: resident memory above the built model (`VmHWM` after a reset
before each decode). Prints one JSON line per frame count.
"""

import json, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import torch

from dry_run import _base_rss, _build, _randn, reset_peak, rss_gib
from msvid.models.plan import GEOMETRY, decode_gib


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    key, h, w, counts = args[0], int(args[1]), int(args[2]), [int(a) for a in args[3:]]
    torch.set_num_threads(2)
    _base_rss(key, 'vae')
    m = _build(key, 'vae', torch.float32)
    f, _, stride, _ = GEOMETRY[key]
    ch = getattr(m.config, 'latent_channels', None) or m.config.z_dim
    built = rss_gib()
    for frames in counts:
        z = _randn(1, ch, 1 + (frames - 1) // stride, h // f, w // f)
        reset_peak()
        t0 = time.time()
        with torch.inference_mode():
            m.decode(z)
        row = dict(key=key, size=[h, w, frames], peak_gib=round(rss_gib('VmHWM') - built, 3),
                   plan_gib=round(decode_gib(key, h, w, frames, 4), 3), seconds=round(time.time() - t0, 1))  # fmt: skip
        print(json.dumps(row), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
