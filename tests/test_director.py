"""VideoAuteur's interleaved director (`msvid.script.director`) on a tiny config, and the shipped toy director
against the no-model baselines on held-out toy tasks."""

import json

import pytest
import torch
import torch.nn.functional as F

from msvid.io.assets import shipped
from msvid.script.director import (
    DirectorConfig,
    collate,
    direct,
    director_loss,
    encode_sequence,
    load_director,
    predict,
    save_director,
    tiny_director,
)
from msvid.toy.tasks import make_task


@pytest.fixture(scope='module')
def toy_batch():
    torch.manual_seed(0)
    tasks = [make_task(s) for s in range(6)]
    d = tiny_director([x for t in tasks for x in t.steps + t.captions], DirectorConfig(clip_dim=512))
    zs = [F.normalize(torch.randn(len(t.steps), 512), dim=-1) for t in tasks]
    return d, tasks, zs


def _batch(d, tasks, zs):
    return collate([encode_sequence(d.tokenizer, t.steps, t.captions, d.cfg.n_query) for t in tasks], zs)


def test_shapes(toy_batch):
    d, tasks, zs = toy_batch
    b = _batch(d, tasks[:3], zs[:3])
    logits, z = d(b)
    T = max(len(t.steps) for t in tasks[:3])
    assert b['qpos'].shape == (3, T, d.cfg.n_query)
    assert logits.shape == (*b['ids'].shape, len(d.tokenizer))
    assert z.shape == (3, T, 512)
    assert b['valid'].sum() == sum(len(t.steps) for t in tasks[:3])


def test_loss_decreases(toy_batch):
    d, tasks, zs = toy_batch
    d = tiny_director([x for t in tasks for x in t.steps + t.captions], DirectorConfig(clip_dim=512), seed=1)
    b = _batch(d, tasks[:4], zs[:4])
    opt = torch.optim.Adam(d.parameters(), 3e-3)
    losses = []
    for _ in range(25):
        loss, parts = director_loss(d.train(), b)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    assert set(parts) == {'ce', 'cos', 'mse'}


def test_teacher_forced_predict_equals_forward(toy_batch):
    d, tasks, zs = toy_batch
    t, z = tasks[1], zs[1]
    _, zf = d(_batch(d, [t], [z]))
    hist = list(zip(t.steps[:2], t.captions[:2], z[:2]))
    _, zp = predict(d, hist, t.steps[2], t.captions[2])
    assert torch.allclose(zp, F.normalize(zf[0, 2], dim=-1), atol=1e-5)


def test_predict_caption_and_z(toy_batch):
    d, tasks, zs = toy_batch
    t = tasks[2]
    cap, z = predict(d, list(zip(t.steps[:1], t.captions[:1], zs[2][:1])), t.steps[1])
    assert isinstance(cap, str)
    assert z.shape == (512,)
    assert len(direct(d, t.steps)) == len(t.steps)
    assert len(direct(d, t.steps, captions=False)) == len(t.steps)


def test_save_load_round_trip(toy_batch, tmp_path):
    d, tasks, zs = toy_batch
    save_director(d, tmp_path / 'd')
    assert not list((tmp_path / 'd').glob('*.bin'))
    d2 = load_director(tmp_path / 'd')
    t = tasks[3]
    hist = list(zip(t.steps[:2], t.captions[:2], zs[3][:2]))
    c1, z1 = predict(d, hist, t.steps[2])
    c2, z2 = predict(d2, hist, t.steps[2])
    assert c1 == c2
    assert torch.allclose(z1, z2, atol=1e-6)


def test_shipped_director_beats_baselines():
    from msvid.train.director import evaluate_director, toy_director_data

    folder = shipped('toy-director')
    assert (folder / 'tokenizer.json').exists() and (folder / 'model.safetensors').exists()
    assert sum(p.stat().st_size for p in folder.iterdir()) < 20e6
    toy = load_director('toy')
    mean_z = torch.tensor(json.loads((folder / 'mean_z.json').read_text()))
    r = evaluate_director(toy, toy_director_data(range(100_000, 100_004)), mean_z)
    assert r['cos'] > r['baseline_mean'] + 0.2
    assert r['cos'] > r['baseline_previous']
    assert r['token_accuracy'] > 0.5


def test_any_causal_lm_backbone(toy_batch, tmp_path):
    "A GPT-2 (another architecture) as the backbone: trains, predicts, saves and loads through the Auto classes."
    from transformers import GPT2Config, GPT2LMHeadModel

    from msvid.script.director import Director

    d0, tasks, zs = toy_batch
    torch.manual_seed(0)
    lm = GPT2LMHeadModel(GPT2Config(vocab_size=len(d0.tokenizer), n_embd=32, n_layer=1, n_head=2, n_positions=1024))
    d = Director(lm, d0.tokenizer, DirectorConfig(clip_dim=512, n_query=2))
    loss, _ = director_loss(d, _batch(d, tasks[:2], zs[:2]))
    loss.backward()
    assert d.queries.grad is not None and d.state_in.weight.grad is not None
    t = tasks[0]
    cap, z = predict(d.eval(), list(zip(t.steps[:1], t.captions[:1], zs[0][:1])), t.steps[1])
    assert z.shape == (512,)
    save_director(d, tmp_path / 'g')
    assert type(load_director(tmp_path / 'g').lm).__name__ == 'GPT2LMHeadModel'
