"""The package's layers: a module imports only from its own subpackage or from the layers below it, and no
import cycle exists among msvid's modules, counting imports inside functions (ARCHITECTURE.md)."""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / 'msvid'
LAYERS = [
    ('core',),
    ('io',),
    ('models',),
    ('toy', 'script'),
    ('scene',),
    ('methods', 'motion'),
    ('pipeline',),
    ('eval',),
    ('train',),
    ('testing', 'testing_parts'),
    ('commands',),
    ('cli',),
    ('__main__',),
]
RANK = {name: k for k, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    "The msvid modules `path` imports anywhere in its body (top level or inside functions)."
    me, out = module_name(path), set()
    package = me if path.name == '__init__.py' else me.rpartition('.')[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                up = package.split('.')[: len(package.split('.')) - node.level + 1]
                base = '.'.join(up + ([base] if base else []))
            names = [base] + [f'{base}.{a.name}' for a in node.names]
        else:
            continue
        out |= {n for n in names if n in modules}
    return out - {me}


def graph() -> dict[str, set[str]]:
    paths = [p for p in PKG.rglob('*.py') if p.name != '_modidx.py']
    modules = {module_name(p) for p in paths}
    return {module_name(p): imported_modules(p, modules) for p in paths}


def layer(module: str) -> int | None:
    parts = module.split('.')
    return RANK.get(parts[1]) if len(parts) > 1 else None


def test_every_subpackage_has_a_layer():
    "A new subpackage must be placed in the layer picture."
    for m in graph():
        assert len(m.split('.')) < 2 or m.split('.')[1] in RANK, f'{m}: not in any layer of LAYERS'


def test_imports_point_down():
    bad = []
    for m, deps in graph().items():
        for d in deps:
            if d == 'msvid' or layer(m) is None or layer(d) is None:
                continue
            same_package = m.split('.')[1] == d.split('.')[1]
            if not same_package and layer(d) >= layer(m):
                bad.append(f'{m} -> {d}')
    assert not bad, 'imports that do not point down a layer:\n' + '\n'.join(sorted(bad))


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    "One import cycle of `g` as a list of modules, or None."
    state, stack = {}, []

    def visit(m):
        state[m] = 'open'
        stack.append(m)
        for d in sorted(g.get(m, ())):
            if state.get(d) == 'open':
                return stack[stack.index(d) :] + [d]
            if d not in state and (c := visit(d)):
                return c
        state[m] = 'done'
        stack.pop()

    for m in sorted(g):
        if m not in state and (c := visit(m)):
            return c


def test_no_import_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, 'import cycle: ' + ' -> '.join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) is None


@pytest.mark.parametrize('path', sorted(p for p in PKG.rglob('*.py') if p.name != '_modidx.py'), ids=lambda p: p.stem)
def test_module_size(path):
    "No module over 450 lines, no function over 50, no line over 120 characters, no `;`-packed statements."
    text = path.read_text()
    lines = text.splitlines()
    assert len(lines) <= 450, f'{path.name}: {len(lines)} lines'
    long = [
        k + 1 for k, l in enumerate(lines) if len(l) > 120 and not l.startswith('__all__ = [')
    ]  # nbdev writes __all__
    assert not long, f'{path.name}: lines over 120 characters: {long[:10]}'
    tree = ast.parse(text)
    big = [
        f'{n.name} ({n.end_lineno - n.lineno + 1})'
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 50
    ]
    assert not big, f'{path.name}: functions over 50 lines: {big}'
    packed = [
        n.lineno
        for n in ast.walk(tree)
        if hasattr(n, 'body') and isinstance(n.body, list)
        for a, b in zip(n.body, n.body[1:])
        if a.end_lineno == b.lineno
    ]
    assert not packed, f'{path.name}: statements packed on one line at {packed[:10]}'


MECHANICS = {  # attribute: the diffusion mechanic it belongs to (msvid.models.families keeps every one)
    'scaling_factor': 'VAE scale',
    'shift_factor': 'VAE shift',
    'latent_dist': 'VAE encode',
    'init_noise_sigma': 'schedule scale',
    'set_timesteps': 'schedule',
    'add_noise': 'forward process',
    'scale_noise': 'forward process',
    'pred_original_sample': 'x0 from a scheduler step',
}
PIPELINE_CALL = ('callback_on_step_end', 'output_type')  # keywords only a diffusers pipeline call takes


def _name(node: ast.AST) -> str:
    "The name an expression ends in: `b` of `a.b`, `a` of `a`."
    return getattr(node, 'attr', getattr(node, 'id', ''))


def diffusion_mechanics(tree: ast.AST) -> list[str]:
    "Where `tree` touches a scheduler, a VAE or a pipeline call itself instead of through a family adapter."
    found = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute) and n.attr in MECHANICS:
            found.append(f'{MECHANICS[n.attr]} ({n.attr}, line {n.lineno})')
        elif isinstance(n, ast.Attribute) and n.attr == 'step' and _name(n.value) == 'scheduler':
            found.append(f'scheduler.step (line {n.lineno})')
        elif isinstance(n, ast.Attribute) and n.attr in ('encode', 'decode') and _name(n.value) == 'vae':
            found.append(f'vae.{n.attr} (line {n.lineno})')
        elif isinstance(n, ast.Call) and any(k.arg in PIPELINE_CALL for k in n.keywords):
            found.append(f'a pipeline call (line {n.lineno})')
    return found


SAMPLING = [p for p in PKG.rglob('*.py') if p.name != '_modidx.py' and p.parent.name not in ('families', 'train')]


@pytest.mark.parametrize('path', SAMPLING, ids=lambda p: f'{p.parent.name}.{p.stem}')
def test_diffusion_mechanics_only_in_family_adapters(path):
    "No scheduler, VAE or pipeline call outside `msvid.models.families` (the training recipes train, not sample)."
    found = diffusion_mechanics(ast.parse(path.read_text()))
    assert not found, f'{path.relative_to(PKG)}: ' + '; '.join(found)


def test_the_mechanics_finder_finds_them():
    code = "pipe.scheduler.step = f\nz = vae.encode(x).latent_dist.mean * pipe.vae.config.scaling_factor\n"
    code += "pipe(prompt='a', output_type='pil')"
    assert len(diffusion_mechanics(ast.parse(code))) == 5
    assert diffusion_mechanics(ast.parse("fam.text_to_image(['a'], z, 3, 1.0, 16, 16)")) == []
