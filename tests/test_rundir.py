"Atomic writes: a failure while writing leaves the previous file intact and no temporary files."

import json

import pytest

import msvid.io.writes as writes
from msvid.io.rundir import RunDir


def test_failed_replace_keeps_old_manifest(tmp_path, monkeypatch):
    p = tmp_path / 'manifest.json'
    writes.atomic_write_json(p, {'status': 'partial', 'scenes': [1]})

    def failing_replace(src, dst, **dir_fds):
        raise OSError('disk full')

    monkeypatch.setattr(writes.os, 'replace', failing_replace)
    with pytest.raises(OSError):
        writes.atomic_write_json(p, {'status': 'complete', 'scenes': [1, 2]})
    assert json.loads(p.read_text()) == {'status': 'partial', 'scenes': [1]}
    assert [f.name for f in tmp_path.iterdir()] == ['manifest.json']


def test_corrupt_manifest_is_an_input_error(tmp_path):
    from msvid.core.records import InputError, Step, Task
    from msvid.core.config import RunConfig

    (tmp_path / 'manifest.json').write_text('{"status": ')
    with pytest.raises(InputError, match='not a valid manifest'):
        RunDir(tmp_path).open(Task('t', [Step('a')]), RunConfig(), resume=True)
