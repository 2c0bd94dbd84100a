"""The models shipped in `msvid/assets` (toy-sd, toy-clip) load offline through the libraries' normal paths
and do their job on the toy world."""

from pathlib import Path

import numpy as np
import torch

import msvid

ASSETS = Path(msvid.__file__).parent / 'assets'
SD, CLIP = ASSETS / 'toy-sd', ASSETS / 'toy-clip'


def _weight_files():
    return [
        p
        for d in (SD, CLIP)
        for p in d.rglob('*')
        if p.is_file() and p.suffix in ('.safetensors', '.bin', '.pt', '.pth', '.ckpt', '.pkl')
    ]


def test_weights_are_safetensors_and_small():
    files = _weight_files()
    assert any(p.parent == CLIP for p in files) and any(SD in p.parents for p in files), files
    assert all(p.suffix == '.safetensors' for p in files), files
    total = sum(p.stat().st_size for d in (SD, CLIP) for p in d.rglob('*') if p.is_file())
    assert total <= 30 * 2**20, f'shipped toy models take {total / 2**20:.1f} MiB'


def test_toy_sd_loads_offline_and_generates(monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(SD, torch_dtype=torch.float32, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    assert (
        len(pipe.tokenizer('a red pan').input_ids) > 3
        and len(set(pipe.tokenizer('a red bowl on a stove').input_ids)) > 4
    )
    im = pipe(
        'a red frying pan with eggs, on a stove',
        num_inference_steps=4,
        guidance_scale=5.0,
        generator=torch.Generator().manual_seed(0),
        output_type='np',
    ).images[0]
    assert im.shape == (64, 64, 3) and np.isfinite(im).all() and im.std() > 0.02


def test_toy_clip_loads_by_name_and_ranks_captions():
    import open_clip
    from PIL import Image
    from msvid.toy.render import sample_pairs

    open_clip.add_model_config(CLIP / 'msvid-toy-clip.json')
    model, _, preprocess = open_clip.create_model_and_transforms(
        'msvid-toy-clip', pretrained=str(CLIP / 'open_clip_model.safetensors')
    )
    tokenizer = open_clip.get_tokenizer('msvid-toy-clip')
    model.eval()
    ims, caps, _ = sample_pairs(8, seed=31_337)
    with torch.no_grad():
        img = model.encode_image(torch.stack([preprocess(Image.fromarray(i)) for i in ims]))
        txt = model.encode_text(tokenizer(caps))
    img, txt = img / img.norm(dim=-1, keepdim=True), txt / txt.norm(dim=-1, keepdim=True)
    sim = img @ txt.T
    wins = [(sim[i, i] > sim[i, (i + 1) % 8]).item() for i in range(8) if caps[i] != caps[(i + 1) % 8]]
    assert sum(wins) >= len(wins) - 1, sim  # its own caption beats another scene's caption


def test_load_toy_clip():
    from msvid.train.toy_clip import load_toy_clip

    model, preprocess, tokenizer = load_toy_clip()
    assert model.text_projection.dtype == torch.float32
    assert tokenizer(['a blue bucket']).shape[0] == 1
