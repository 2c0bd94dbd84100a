"""Remote code is never trusted: a model folder whose config asks transformers to run its own Python (`auto_map`)
is refused in one `error:` line, without a prompt and without running that code, on every command-line surface
that loads a transformers folder; and every transformers loader in msvid passes `trust_remote_code=False`."""

import ast, io, json, sys
from pathlib import Path

import pytest

import msvid
from conftest import run_cli

TASK = '# Garlic toast\n1. Slice the bread.\n2. Rub the slices with garlic.\n3. Toast them in the same pan.\n'
FAST = ['--size', '16', '--steps', '2', '--quiet', '--device', 'cpu', '--scene-seconds', '0.25']
AUTO = ('AutoConfig', 'AutoModel', 'AutoModelForCausalLM', 'AutoModelForSeq2SeqLM', 'AutoProcessor',
        'AutoImageProcessor', 'CLIPModel')  # fmt: skip
OWN_CODE = "asks to run its own code (auto_map); msvid never runs"


def hostile_folder(tmp_path: Path, name: str, *extra: str) -> tuple[Path, Path]:
    "A model folder whose configs point transformers at its own `evil.py`, which writes a marker when imported."
    folder, marker = tmp_path / name, tmp_path / f'{name}.ran'
    folder.mkdir()
    (folder / 'evil.py').write_text(f"open({str(marker)!r}, 'w').write('ran')\n\nclass AnyClass:\n    pass\n")
    (folder / 'config.json').write_text(json.dumps({'auto_map': {k: 'evil.AnyClass' for k in AUTO}}))
    tok = {'auto_map': {'AutoTokenizer': ['evil.AnyClass', 'evil.AnyClass']}, 'tokenizer_class': 'AnyClass'}
    (folder / 'tokenizer_config.json').write_text(json.dumps(tok))
    for f in extra:
        (folder / f).write_bytes(b'')
    return folder, marker


def refused(capsys, monkeypatch, *argv) -> str:
    "Run the CLI in-process with a 'y' waiting on a non-terminal stdin; assert exit 2, one `error:` line, < 10 s."
    monkeypatch.setattr(sys, 'stdin', io.StringIO('y\n' * 10))  # a prompt that read it would run the code
    code, out, err, seconds = run_cli(capsys, *argv)
    assert code == 2, err
    assert err.startswith('error: ') and err.count('\n') == 1 and 'Traceback' not in err, err
    assert 'Do you wish to run' not in out + err and 'trust_remote_code' not in out + err, out + err
    assert seconds < 10, f'{seconds:.1f} s'
    return err


@pytest.fixture
def task(tmp_path):
    p = tmp_path / 'toast.txt'
    p.write_text(TASK)
    return p


@pytest.mark.parametrize('backend', ['llm', 'seq2seq'])
def test_caption_model_folder_with_its_own_code(capsys, monkeypatch, tmp_path, task, backend):
    folder, marker = hostile_folder(tmp_path, backend)
    err = refused(capsys, monkeypatch, 'script', task, '--captions', backend, '--caption-model', folder)
    assert str(folder) in err and OWN_CODE in err, err
    assert not marker.exists()


def test_director_folder_with_its_own_code(capsys, monkeypatch, tmp_path, task):
    folder, marker = hostile_folder(tmp_path, 'director', 'director.safetensors', 'director.json')
    err = refused(capsys, monkeypatch, 'generate', task, '--out', tmp_path / 'run', *FAST,
                  '--method', 'director', '--director', folder)  # fmt: skip
    assert err.startswith(f"error: director '{folder}': ") and OWN_CODE in err, err
    assert not marker.exists()


def test_clip_folder_with_its_own_code(capsys, monkeypatch, tmp_path, task):
    "`--clip FOLDER` loads a transformers `CLIPModel`, a concrete class: the folder's `auto_map` is never followed."
    folder, marker = hostile_folder(tmp_path, 'clip')
    err = refused(capsys, monkeypatch, 'generate', task, '--out', tmp_path / 'run', *FAST, '--clip', folder)
    assert f"CLIP '{folder}'" in err, err
    assert not marker.exists()


# --- every transformers loader says trust_remote_code=False, so a new one cannot forget it ---

ROOT = Path(msvid.__file__).parent
SKIP = {'testing.py', '_modidx.py'}  # the test helpers build their models in memory
OTHER_LOADERS = {'ContrastiveSelector', '_pipeline_class'}  # msvid's own hub mixin; the diffusers pipeline classes


def _imported(tree: ast.Module) -> tuple[set[str], set[str], set[str]]:
    "Names bound to transformers objects, aliases of the transformers module, and names from other libraries."
    tf_names, tf_modules, other = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {a.asname or a.name for a in node.names}
            (tf_names if node.module.split('.')[0] == 'transformers' else other).update(names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split('.')[0] == 'transformers':
                    tf_modules.add(a.asname or a.name.split('.')[0])
    return tf_names, tf_modules, other


def _root(node: ast.expr) -> str | None:
    "The name an attribute chain or call starts from (`tf` of `tf.AutoModel`, `f` of `f(x).g`)."
    while isinstance(node, (ast.Attribute, ast.Call)):
        node = node.value if isinstance(node, ast.Attribute) else node.func
    return node.id if isinstance(node, ast.Name) else None


def loader_calls(root: Path | None = None) -> tuple[list[str], list[str], list[str]]:
    "`(safe, unsafe, unknown)`: transformers `from_pretrained`/`pipeline` calls with and without the keyword, and "
    "`from_pretrained` calls on a receiver not known to be transformers, diffusers or msvid's own."
    safe, unsafe, unknown, root = [], [], [], root or ROOT
    for path in sorted(root.rglob('*.py')):
        if path.name in SKIP:
            continue
        tree = ast.parse(path.read_text(encoding='utf-8'))
        tf_names, tf_modules, other = _imported(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f, where = node.func, f'{path.relative_to(root.parent)}:{node.lineno}'
            if isinstance(f, ast.Attribute) and f.attr == 'from_pretrained':
                base = _root(f.value)
                if base not in tf_names | tf_modules:
                    if base not in other | OTHER_LOADERS:  # e.g. a class held in a variable
                        unknown.append(f'{where}: {ast.unparse(node)[:100]}')
                    continue
            elif not ((isinstance(f, ast.Name) and f.id == 'pipeline' and f.id in tf_names)
                      or (isinstance(f, ast.Attribute) and f.attr == 'pipeline' and _root(f.value) in tf_modules)):
                continue
            ok = any(k.arg == 'trust_remote_code' and isinstance(k.value, ast.Constant) and k.value.value is False
                     for k in node.keywords)  # fmt: skip
            (safe if ok else unsafe).append(f'{where}: {ast.unparse(node)[:100]}')
    return safe, unsafe, unknown


def test_every_transformers_loader_refuses_remote_code():
    safe, unsafe, unknown = loader_calls()
    assert not unsafe, 'transformers loaders without trust_remote_code=False:\n' + '\n'.join(unsafe)
    assert not unknown, 'from_pretrained on a receiver this test cannot place (transformers?):\n' + '\n'.join(unknown)
    assert len(safe) >= 10, safe  # the scan found the loaders it guards (llm, seq2seq, director, CLIP, ...)
