"Shared fixtures: a tiny Stable Diffusion pipeline saved to a folder, loadable by path like any hub model."

import pytest


@pytest.fixture(scope='session')
def tiny_model_dir(tmp_path_factory):
    "A random-weight StableDiffusionPipeline (16x16 images) saved with save_pretrained."
    from msvid.models.components import tiny_sd_pipeline

    path = tmp_path_factory.mktemp('tiny-sd')
    tiny_sd_pipeline(seed=0).save_pretrained(path)
    return path


@pytest.fixture
def task_file(tmp_path):
    "A three-step plain-text task file."
    p = tmp_path / 'toast.txt'
    p.write_text(
        "# Garlic toast\n1. Slice the bread.\n2. Rub the slices with garlic.\n3. Toast them in the same pan.\n"
    )
    return p
