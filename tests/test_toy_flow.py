"Every method on the shipped toy flow-matching model (`--preset toy-flow`): it runs, or it is refused in one line."

import pytest
import torch

from msvid.core.records import InputError, Step, Task
from msvid.methods.registry import method_names
from msvid.models.pipelines import pipeline_for
from msvid.models.presets import resolve_config
from msvid.pipeline.generate import generate

TASK = Task('Omelette', [Step('Crack two eggs into a glass bowl.'), Step('Whisk the eggs in the glass bowl.'),
                         Step('Pour the eggs into a black frying pan.')])  # fmt: skip
FAST = dict(num_inference_steps=4, window=[1, 2], select_at=2, scene_seconds=0.25, quiet=True)
NEEDS = {'ip-refs': "needs an IP-Adapter: give --ip-adapter"}  # runs with a flag the toy flow preset has no value for


@pytest.fixture(scope='module')
def flow():
    torch.set_num_threads(1)
    return pipeline_for(resolve_config('toy-flow', 'cpu', quiet=True))


def test_toy_flow_preset_loads_the_shipped_sd3_model(flow):
    "The preset is an SD3 pipeline without T5, driven by the flow family, with the T5 length it was trained with."
    from msvid.models.families.registry import family_of

    assert (type(flow).__name__, family_of(flow).name, flow.text_encoder_3) == (
        'StableDiffusion3Pipeline',
        'StableDiffusion3',
        None,
    )
    assert flow.msvid_call_defaults == {'max_sequence_length': 4}


@pytest.mark.parametrize('method', method_names())
def test_every_method_runs_on_toy_flow_or_is_refused_in_one_line(flow, tmp_path, method):
    "Each method makes every scene on the toy flow preset, or stops with one `InputError` line that names why."
    cfg = resolve_config('toy-flow', 'cpu', method=method, **FAST)
    if method in NEEDS:
        with pytest.raises(InputError, match=NEEDS[method]) as e:
            generate(TASK, tmp_path / method, cfg, pipe=flow)
        assert '\n' not in str(e.value)
        return
    run = generate(TASK, tmp_path / method, cfg, pipe=flow)
    assert all(run.scene(i).unet_evals > 0 for i in range(3)) and (tmp_path / method / 'video.mp4').exists()
