"Entity references: common entities, masks, user photos, and both conditionings on tiny components."

import json

import numpy as np
from PIL import Image

from msvid.cli import main
from msvid.core.records import SceneScript
from msvid.methods.references import common_entities, saliency_mask, split_reference, toy_mask


def test_common_entities_and_split():
    sc = [
        SceneScript(0, '', 'a pan', ['pan'], 'stove'),
        SceneScript(1, '', 'a pan on a stove', ['pan'], 'stove'),
        SceneScript(2, '', 'a bowl', ['bowl'], 'counter'),
    ]
    assert [(e.name, e.kind, e.scenes) for e in common_entities(sc)] == [
        ('pan', 'foreground', [0, 1]),
        ('stove', 'background', [0, 1]),
    ]
    from msvid.toy.tasks import make_task
    from msvid.toy.render import render

    st = make_task(1).states[0]
    img, m = render(st), toy_mask(st)
    fg, bg = split_reference(img, m)
    assert (np.asarray(fg)[~m] == 255).all() and (np.asarray(bg)[~m] == np.asarray(img)[~m]).all()
    assert saliency_mask(img).shape == m.shape


def test_rolling_refs_with_user_photo(tmp_path, tiny_model_dir):
    Image.new('RGB', (20, 20), (250, 10, 10)).save(tmp_path / 'pan.png')
    task = {
        'title': 'Pan',
        'steps': ['Heat the red pan.', 'Chop an onion.', 'Fry the onion in the red pan.'],
        'meta': {'references': {'red pan': str(tmp_path / 'pan.png')}},
    }
    (tmp_path / 't.json').write_text(json.dumps(task))
    args = [
        'generate',
        str(tmp_path / 't.json'),
        '--out',
        str(tmp_path / 'r'),
        '--model',
        str(tiny_model_dir),
        '--method',
        'rolling-refs',
        '--size',
        '16',
        '--steps',
        '4',
        '--quiet',
        '--device',
        'cpu',
        '--scene-seconds',
        '0.25',
    ]
    assert main(args) == 0
    m = json.loads((tmp_path / 'r' / 'manifest.json').read_text())
    names = [e for s in m['scenes'] for e in s['script']['entities']]
    assert 'red pan' in names
    refs = sorted(p.name for p in (tmp_path / 'r' / 'references').glob('*_image.png'))
    assert refs and refs[0].startswith('00_foreground')
    ref = np.asarray(Image.open(tmp_path / 'r' / 'references' / refs[0]))
    assert (ref == np.asarray(Image.new('RGB', (16, 16), (250, 10, 10)))).all()  # the user's photo, resized
    task['meta']['references'] = {'blue kettle': str(tmp_path / 'pan.png')}
    (tmp_path / 't.json').write_text(json.dumps(task))
    args[args.index('--out') + 1] = str(tmp_path / 'r2')
    assert main(args) == 2
