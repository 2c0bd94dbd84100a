"""A full-size dry run of the memory plan: every real model's components built from the vendored configs at full
width with random weights, weighed, run once at a reduced size, and the camera warp run on each video family.

    python benchmarks/dry_run.py [--only KEY ...] [--threads 2] [--out benchmarks/results/dry_run.md]
                                 [--measured benchmarks/results/dry_run.json]

Each measurement runs in a fresh process (peak RSS from /proc/self/status, reset before the step) so that nothing
from the last one stays resident:

- **weights**: the component built in bfloat16, the resident memory it adds beside `msvid.models.sizes`' count.
- **step**: the component built in float32 and run once (a denoiser on two latents: one step of classifier-free
  guidance; an autoencoder decoding; an encoder reading two prompts or an image), peak memory beside the plan's
  estimate for it (`msvid.models.plan`: weights + `denoise_gib` or `decode_gib`). Float32 because this CPU has no
  bfloat16 arithmetic (a bfloat16 matmul runs about 140 times slower than a float32 one here); the plan's
  activation terms scale with the bytes per value, so float32 checks the same factors. Each autoencoder decodes a second
  time at larger sizes (`HELD_OUT`) that were not used to set the plan's decode factors.
- **warp**: msvid's own `image_to_video` with the VideoStudio camera warp after step 2 of 3, on each video family's
  pipeline at full width (the whole denoiser where its float32 copy and autoencoder fit in 16 GiB, else its first
  blocks, said in the table), the text encoder replaced by random embeddings of its output shape (the encoder is
  weighed in its own row); CogVideoX decodes in tiles (its whole 480x720 decode does not fit here in float32). It
  records that frame 0 stays the keyframe's and the later latent frames move.

A component whose bfloat16 copy does not fit this machine (24 GiB) is counted on the meta device only.
Components of the same class and size are measured once. Every measurement is kept in `--measured` (JSON, written
after each one), so a run that stops resumes where it stopped, and the report's plan column is always computed by
the plan as it is now.
"""

from __future__ import annotations
import argparse, json, os, subprocess, sys, time
from pathlib import Path

GIB = 2**30
WEIGH_LIMIT_GIB = 16  # bfloat16 weights built here at most (the machine has 24 GiB)
STEP_LIMIT_GIB = 18  # float32 weights run here at most (T5-XXL's 17.7 GiB)
KEYFRAME = dict(height=512, width=512, frames=1)  # the reduced keyframe size of a step
SHOT = dict(height=256, width=256, frames=9)  # the reduced shot of a step (SVD: 8 frames, it has no time stride)
HELD_OUT = {'keyframe': dict(height=768, width=768, frames=1), 'shot': dict(height=320, width=320, frames=17)}
# autoencoders decode a second time at these sizes: `msvid.models.plan.DECODE_TENSORS` was set from the first only
ROWS = 2  # latents per denoiser call: one step of classifier-free guidance
TEXT_TOKENS = {'CLIPTextModel': 77, 'CLIPTextModelWithProjection': 77, 'T5EncoderModel': 512,
               'UMT5EncoderModel': 512, 'Gemma2Model': 300, 'Qwen2ForCausalLM': 1024}  # fmt: skip
DENOISERS = {'UNet2DConditionModel', 'SD3Transformer2DModel', 'SanaTransformer2DModel',
             'UNetSpatioTemporalConditionModel', 'WanTransformer3DModel'}  # fmt: skip
IMAGE_ENCODERS = {'CLIPVisionModel', 'CLIPVisionModelWithProjection'}


def rss_gib(field: str = 'VmRSS') -> float:
    "This process's resident memory (`VmRSS`) or its peak since the last reset (`VmHWM`), GiB."
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(field + ':'):
            return int(line.split()[1]) * 1024 / GIB
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak():
    "Start a new peak: Linux resets VmHWM to the current RSS on '5' in clear_refs."
    Path('/proc/self/clear_refs').write_text('5')


def _size(key: str, held_out: bool = False) -> dict:
    "The reduced size a component of model `key` runs at (`held_out`: the autoencoders' second size)."
    from msvid.models.plan import VIDEO_DTYPES

    video = key in VIDEO_DTYPES
    size = HELD_OUT['shot' if video else 'keyframe'] if held_out else SHOT if video else KEYFRAME
    return size | {'frames': size['frames'] - 1} if key == 'svd' else size


def _randn(*shape):
    import torch

    return torch.randn(*shape, generator=torch.Generator().manual_seed(0))


def denoiser_inputs(key: str, m) -> dict:
    "One call's inputs for denoiser `m` of model `key` at the reduced size, `ROWS` latents."
    import torch
    from msvid.models.plan import GEOMETRY

    c, s, cls = m.config, _size(key), type(m).__name__
    f, _, stride, _ = GEOMETRY[key]
    h, w, n = s['height'] // f, s['width'] // f, s['frames']
    t = torch.full((ROWS,), 500.0)
    if cls == 'UNet2DConditionModel':
        kw = dict(sample=_randn(ROWS, c.in_channels, h, w), timestep=t,
                  encoder_hidden_states=_randn(ROWS, 77, c.cross_attention_dim))  # fmt: skip
        if c.addition_embed_type == 'text_time':
            pooled = c.projection_class_embeddings_input_dim - 6 * c.addition_time_embed_dim
            kw['added_cond_kwargs'] = {'text_embeds': _randn(ROWS, pooled), 'time_ids': _randn(ROWS, 6)}
        return kw
    if cls == 'SD3Transformer2DModel':
        return dict(hidden_states=_randn(ROWS, c.in_channels, h, w), timestep=t, pooled_projections=_randn(
            ROWS, c.pooled_projection_dim), encoder_hidden_states=_randn(ROWS, 333, c.joint_attention_dim))  # fmt: skip
    if cls == 'SanaTransformer2DModel':
        return dict(hidden_states=_randn(ROWS, c.in_channels, h, w), timestep=t,
                    encoder_hidden_states=_randn(ROWS, 300, c.caption_channels))  # fmt: skip
    if cls == 'UNetSpatioTemporalConditionModel':
        return dict(sample=_randn(ROWS, n, c.in_channels, h, w), timestep=t[:1],
                    encoder_hidden_states=_randn(ROWS, 1, c.cross_attention_dim), added_time_ids=_randn(ROWS, 3))
    if cls == 'WanTransformer3DModel':
        image = {'encoder_hidden_states_image': _randn(ROWS, 257, c.image_dim)} if c.image_dim else {}
        return dict(hidden_states=_randn(ROWS, c.in_channels, 1 + (n - 1) // stride, h, w), timestep=t,
                    encoder_hidden_states=_randn(ROWS, 512, c.text_dim), **image)  # fmt: skip
    raise ValueError(f"no denoiser inputs for {cls}")


def decode(key: str, m, held_out: bool = False):
    "Decode a random latent of the reduced size (video autoencoders: the whole shot, as their pipelines do)."
    import torch
    from msvid.models.plan import GEOMETRY

    c, s, cls = m.config, _size(key, held_out), type(m).__name__
    f, _, stride, at_once = GEOMETRY[key]
    h, w = s['height'] // f, s['width'] // f
    ch = getattr(c, 'latent_channels', None) or c.z_dim
    if cls in ('AutoencoderKL', 'AutoencoderDC'):
        return m.decode(_randn(1, ch, h, w))
    if cls == 'AutoencoderKLTemporalDecoder':
        return m.decode(_randn(at_once, ch, h, w), num_frames=at_once)
    z = _randn(1, ch, 1 + (s['frames'] - 1) // stride, h, w)
    if cls == 'AutoencoderKLLTXVideo' and c.timestep_conditioning:
        return m.decode(z, temb=torch.tensor([0.05]))
    return m.decode(z)


def encode(m):
    "An encoder's pass: two prompts of its usual length, or one 224x224 image."
    import torch

    cls = type(m).__name__
    if cls in IMAGE_ENCODERS:
        return m(pixel_values=_randn(1, 3, 224, 224))
    ids = torch.randint(0, m.config.vocab_size, (1 if cls == 'Qwen2ForCausalLM' else 2, TEXT_TOKENS[cls]))
    if cls == 'Qwen2ForCausalLM':  # the prompt read once: its KV cache and the next token's logits
        return m(input_ids=ids, use_cache=True, logits_to_keep=1)
    return m(input_ids=ids)


def step_estimate(key: str, name: str, cls: str, held_out: bool = False) -> float | None:
    "The plan's float32 peak for one pass of the component at the reduced size (weights + activations), GiB."
    from msvid.models.plan import SCRIPT_LM_ACT_GIB, decode_gib, denoise_gib
    from msvid.models.sizes import component_size

    s, weights = _size(key, held_out), component_size(key, name).nbytes('float32') / GIB
    if cls in DENOISERS:
        return weights + denoise_gib(key, name, s['height'], s['width'], s['frames'], ROWS, 4)
    if name == 'vae':
        return weights + decode_gib(key, s['height'], s['width'], s['frames'], 4)
    if cls == 'Qwen2ForCausalLM':
        return weights + 2 * SCRIPT_LM_ACT_GIB  # the plan's float16 allowance, at 4 bytes a value
    if cls in TEXT_TOKENS or cls in IMAGE_ENCODERS:
        return weights  # the plan gives encoders no activation term
    return None


def _build(key: str, name: str, dtype):
    "Component `name` of `key` with random weights in `dtype`."
    import torch
    from msvid.models.sizes import build_component

    torch.set_default_dtype(dtype)
    try:
        m = build_component(key, name, empty=False).to(dtype).eval()
    finally:
        torch.set_default_dtype(torch.float32)
    return m.requires_grad_(False)


def _base_rss(key: str, name: str) -> float:
    "Resident memory once the component's code is imported (built once on the meta device), before its weights."
    from msvid.models.sizes import build_component

    build_component(key, name)
    return rss_gib()


def child_weights(key: str, name: str) -> dict:
    import torch

    base, t0 = _base_rss(key, name), time.time()
    m = _build(key, name, torch.bfloat16)
    return {'measured': rss_gib() - base, 'seconds': time.time() - t0}


def child_step(key: str, name: str, size: str = 'reduced') -> dict:
    import torch

    base = _base_rss(key, name)
    m = _build(key, name, torch.float32)
    cls = type(m).__name__
    reset_peak()
    t0 = time.time()
    with torch.inference_mode():
        if cls in DENOISERS:
            m(**denoiser_inputs(key, m))
        elif name == 'vae':
            decode(key, m, held_out=size == 'held-out')
        else:
            encode(m)
    return {'measured': rss_gib('VmHWM') - base, 'seconds': time.time() - t0}


# --- the camera warp on each video family --------------------------------------------------------------------------
WARP_SIZE = {'svd': (256, 256, 8), 'cogvideox-i2v': (480, 720, 5), 'wan2.1-i2v': (256, 256, 9),
             'wan2.1-flf2v': (256, 256, 9), 'wan2.2-ti2v': (256, 256, 9), 'ltx-video': (256, 256, 9)}  # fmt: skip (CogVideoX-I2V: its only size)
FIRST_BLOCKS = 4  # blocks kept where the whole denoiser does not fit
TEXT = {'cogvideox-i2v': (226, 'text_embed_dim', False), 'wan2.1-i2v': (512, 'text_dim', False),
        'wan2.1-flf2v': (512, 'text_dim', False),
        'wan2.2-ti2v': (512, 'text_dim', False), 'ltx-video': (128, 'caption_channels', True)}  # fmt: skip


def _scheduler(key: str):
    import diffusers
    from msvid.testing import svd_euler

    if key == 'svd':
        return svd_euler()
    if key == 'cogvideox-i2v':  # the 5B models' settings
        return diffusers.CogVideoXDPMScheduler(prediction_type='v_prediction', rescale_betas_zero_snr=True,
                                               timestep_spacing='trailing', snr_shift_scale=1.0)  # fmt: skip
    if key.startswith('wan'):
        return diffusers.UniPCMultistepScheduler(prediction_type='flow_prediction', use_flow_sigmas=True,
                                                 flow_shift=5.0 if key == 'wan2.2-ti2v' else 3.0)  # fmt: skip
    return diffusers.FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=False, shift=1.0)


def _denoiser(key: str, den: str):
    "The denoiser at full width: whole where its float32 copy and the autoencoder fit `STEP_LIMIT_GIB`, else cut."
    from msvid.models.sizes import build_component, component_size

    whole = (component_size(key, den).params + component_size(key, 'vae').params) * 4 / GIB <= STEP_LIMIT_GIB
    cut = {} if whole else {'num_layers': FIRST_BLOCKS}
    blocks = 'all' if whole else f"{FIRST_BLOCKS} of {build_component(key, den).config.num_layers}"  # meta: free
    return build_component(key, den, empty=False, **cut).float().eval().requires_grad_(False), blocks


def _stand_in_prompts(pipe, key: str):
    "Replace the pipeline's text encoding by random embeddings of its encoder's output shape."
    import torch

    tokens, attr, masked = TEXT[key]
    width = getattr(pipe.transformer.config, attr)

    def encode_prompt(*a, **kw):
        e = _randn(1, tokens, width)
        if masked:
            mask = torch.ones(1, tokens, dtype=torch.long)
            return e, mask, e.clone(), mask
        return e, e.clone()

    pipe.encode_prompt = encode_prompt


def video_pipeline(key: str):
    "The video model's image-to-video pipeline at full width, random weights, float32; no text encoder."
    import diffusers
    from transformers import CLIPImageProcessor
    from msvid.models.sizes import build_component, model_sizes

    comps = [c.name for c in model_sizes(key)]
    den = 'unet' if 'unet' in comps else 'transformer'
    m, blocks = _denoiser(key, den)
    kw = {den: m, 'vae': build_component(key, 'vae', empty=False).float().eval(), 'scheduler': _scheduler(key)}
    if 'image_encoder' in comps:
        kw['image_encoder'] = build_component(key, 'image_encoder', empty=False).float().eval()
        kw['feature_extractor' if key == 'svd' else 'image_processor'] = CLIPImageProcessor(crop_size=224, size=224)
    cls = {'svd': 'StableVideoDiffusionPipeline', 'cogvideox-i2v': 'CogVideoXImageToVideoPipeline',
           'ltx-video': 'LTXConditionPipeline'}.get(key, 'WanImageToVideoPipeline')  # fmt: skip
    if key != 'svd':
        kw |= {'tokenizer': None, 'text_encoder': None}
    if key.startswith('wan'):
        kw |= {'image_encoder': kw.get('image_encoder'), 'image_processor': kw.get('image_processor')}
        kw |= {'expand_timesteps': key == 'wan2.2-ti2v'}
    pipe = getattr(diffusers, cls)(**kw)
    if key == 'cogvideox-i2v':  # its whole 480x720 decode needs about 15 GiB in float32: tiles, as its docs advise
        pipe.vae.enable_tiling()
    if key != 'svd':
        _stand_in_prompts(pipe, key)
    pipe.set_progress_bar_config(disable=True)
    return pipe, blocks


def child_warp(key: str) -> dict:
    import numpy as np
    import torch
    from PIL import Image
    from msvid.core.records import CameraMove
    from msvid.models.families.registry import video_family_of
    from msvid.motion.camera import CameraWarp

    class Watch(CameraWarp):
        "The camera warp, keeping how far it moved each latent frame."

        def __call__(self, pipe, i, t, kwargs):
            before = kwargs['latents'].clone()
            out = super().__call__(pipe, i, t, kwargs)
            if i + 1 == self.t_m:
                moved = video_family_of(pipe).frames(out['latents'] - before).float()
                self.moved = [moved[:, k].abs().mean().item() for k in range(moved.shape[1])]
            return out

    base = rss_gib()
    pipe, blocks = video_pipeline(key)
    weights = rss_gib() - base
    h, w, n = WARP_SIZE[key]
    key_image = Image.fromarray((np.random.default_rng(0).random((h, w, 3)) * 255).astype('uint8'))
    warp = Watch(CameraMove('right', 'fast'), t_m=2)  # x0 tracked from step 1 on
    fam = video_family_of(pipe)
    last = key_image if fam.needs_last_image else None  # the first-last-frame model: a shot that returns
    reset_peak()
    t0 = time.time()
    with torch.inference_mode():
        frames = fam.image_to_video(key_image, 'a red bowl on a kitchen counter', 0, 3, warp, 5.0, num_frames=n,
                                    height=h, width=w, last_image=last)  # fmt: skip
    return {'blocks': blocks, 'size': f"{w}x{h}, {len(frames)} frames", 'applied': warp.applied,
            'moved': warp.moved, 'weights': weights, 'measured': rss_gib('VmHWM') - base,
            'seconds': time.time() - t0}  # fmt: skip


# --- the parent: every component, one process each ------------------------------------------------------------------
def run_child(args: list[str], threads: int, measured: dict, path: Path) -> dict:
    "The measurement `args` names: kept in `measured` (saved to `path`), else made in a fresh process and kept."
    key = ' '.join(args)
    if key not in measured:
        measured[key] = _child(args, threads)
        tmp = path.with_suffix('.tmp')
        tmp.write_text(json.dumps(measured, indent=1, sort_keys=True) + '\n')
        tmp.replace(path)
    return measured[key]


def _child(args: list[str], threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), HF_HUB_OFFLINE='1', TOKENIZERS_PARALLELISM='false')
    p = subprocess.run([sys.executable, __file__, '--threads', str(threads), '--child', *args],
                       capture_output=True, text=True, env=env)  # fmt: skip
    if p.returncode:
        tail = (p.stderr.strip().splitlines() or [f'exit {p.returncode}'])[-1]
        return {'error': f"exit {p.returncode}: {tail[:160]}"}
    return json.loads(p.stdout.strip().splitlines()[-1])


def components(keys) -> list:
    "(key, component) of every model, with the first (key, component) of the same class and size, if any."
    from msvid.models.sizes import model_sizes

    seen, out = {}, []
    for key in keys:
        for c in model_sizes(key):
            out.append((key, c, seen.setdefault((c.cls, c.params), (key, c.name))))
    return out


def _row(key, c, first, res) -> str:
    w16, w32 = c.nbytes('bfloat16') / GIB, c.nbytes('float32') / GIB
    cells = [key, c.name, c.cls, f"{c.params / 1e9:.3f}", f"{w16:.2f}"]
    if (key, c.name) != first:
        return '| ' + ' | '.join(cells + [f"as {first[0]} {first[1]}"] + [''] * 5) + ' |'
    wt = res.get('weights16', {})
    cells.append(f"{wt['measured']:.2f} ({wt['measured'] / w16:.2f}x)" if 'measured' in wt else
                 wt.get('error', 'meta only'))  # fmt: skip
    st, est = res.get('step', {}), step_estimate(key, c.name, c.cls)
    if 'measured' in st and est:
        cells += [f"{w32:.2f}", f"{est:.2f}", f"{st['measured']:.2f}", f"{st['measured'] / est:.2f}x",
                  f"{st['seconds']:.1f}"]  # fmt: skip
    else:
        cells += [f"{w32:.2f}", f"{est:.2f}" if est else '-', st.get('error', 'not run'), '', '']
    return '| ' + ' | '.join(cells) + ' |'


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--only', nargs='*', default=None, help='model keys (default: every vendored model)')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'dry_run.md'))
    p.add_argument('--measured', default=str(Path(__file__).parent / 'results' / 'dry_run.json'))
    p.add_argument('--child', nargs='+', help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        import torch

        torch.set_num_threads(a.threads)
        mode, key, *name = a.child
        res = {'weights': child_weights, 'step': child_step}[mode](key, *name) if name else child_warp(key)
        print(json.dumps(res))
        return
    from msvid.models.plan import VIDEO_DTYPES
    from msvid.models.sizes import model_keys

    keys, path = a.only or model_keys(), Path(a.measured)
    measured = json.loads(path.read_text()) if path.exists() else {}
    child = lambda *args: run_child(list(args), a.threads, measured, path)
    rows, decodes = [], []
    for key, c, first in components(keys):
        res = {}
        if (key, c.name) == first:
            if c.nbytes('bfloat16') / GIB <= WEIGH_LIMIT_GIB:
                res['weights16'] = child('weights', key, c.name)
            if c.nbytes('float32') / GIB <= STEP_LIMIT_GIB and step_estimate(key, c.name, c.cls) is not None:
                res['step'] = child('step', key, c.name)
            if c.name == 'vae':
                held = child('step', key, c.name, 'held-out')
                decodes.append((key, step_estimate(key, c.name, c.cls, held_out=True), held))
        rows.append(_row(key, c, first, res))
        print(rows[-1], file=sys.stderr, flush=True)
    warps = [(k, child('warp', k)) for k in keys if k in VIDEO_DTYPES]
    Path(a.out).write_text(report(rows, decodes, warps, a.threads))
    print(Path(a.out).read_text())


def decode_table(decodes) -> list[str]:
    "The autoencoders decoding at the held-out sizes, beside the plan's estimate."
    size = lambda d: f"{d['width']}x{d['height']}" + (f", {d['frames']} frames" if d['frames'] > 1 else '')
    out = [f"## Decoding at sizes not used to set the plan's factors\n\nKeyframe autoencoders at "
           f"{size(HELD_OUT['keyframe'])}, video ones at {size(HELD_OUT['shot'])} (SVD: one frame fewer).\n",
           '| model | fp32 decode, plan GiB | measured peak GiB | measured / plan |', '|---' * 4 + '|']  # fmt: skip
    for key, est, r in decodes:
        got = f"{r['measured']:.2f} | {r['measured'] / est:.2f}x" if 'measured' in r else f"{r.get('error')} |"
        out.append(f"| {key} | {est:.2f} | {got} |")
    return out


def report(rows, decodes, warps, threads) -> str:
    head = ('| model | component | class | parameters (B) | bf16 weights, counted GiB | bf16 weights, measured GiB | '
            'fp32 weights GiB | fp32 step, plan GiB | fp32 step, measured peak GiB | measured / plan | step s |')
    lines = [f"# Full-size dry run of the memory plan\n\n`python benchmarks/dry_run.py --threads {threads}` on this "
             "project's 2-core CPU VM (24 GiB RAM, no GPU). Measurements: `dry_run.json`; the plan's column is "
             "`msvid.models.plan` as it is now.\n",
             'Keyframe components step at 512x512, video components at 256x256 and 9 frames (SVD: 8), two latents '
             'per denoiser call. Peaks are resident memory above the process before the build.\n', head,
             '|---' * 11 + '|', *rows, '', *decode_table(decodes), '',
             '## The camera warp at full width (after step 2 of 3)\n',
             '| video model | denoiser blocks | shot | warp | mean move of each latent frame | weights GiB | '
             'peak GiB | seconds |', '|---' * 8 + '|']  # fmt: skip
    for key, r in warps:
        if 'error' in r:
            lines.append(f"| {key} | | | {r['error']} | | | | |")
            continue
        moved = ', '.join(f"{x:.3f}" for x in r['moved'])
        lines.append(f"| {key} | {r['blocks']} | {r['size']} | {r['applied']} | {moved} | {r['weights']:.2f} | "
                     f"{r['measured']:.2f} | {r['seconds']:.0f} |")  # fmt: skip
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    main()
