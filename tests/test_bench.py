"`msvid bench` split across processes: two shards give the rows of one unsharded run."

import csv, os, subprocess, sys

BENCH = ['-m', 'msvid', 'bench', '--suite', 'toy', '--tasks', '3', '--methods', 'independent',
         '--steps', '2', '--quiet']  # fmt: skip
COSTS = ('seconds',)  # wall time differs from run to run; everything else must not


def _rows(path):
    with open(path / 'results.csv') as f:
        return [{k: v for k, v in r.items() if k not in COSTS} for r in csv.DictReader(f)]


def test_two_shard_processes_give_the_unsharded_table(tmp_path):
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    out = str(tmp_path / 'sharded')
    shards = [  # one shard named on the command line, one from the environment `accelerate launch` sets
        subprocess.Popen([sys.executable, *BENCH, '--out', out, '--shard', '0/2'], env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        subprocess.Popen([sys.executable, *BENCH, '--out', out], env={**env, 'RANK': '1', 'WORLD_SIZE': '2'},
                         text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE),
    ]  # fmt: skip
    logs = [p.communicate(timeout=900) for p in shards]
    assert [p.returncode for p in shards] == [0, 0], logs
    whole = subprocess.run([sys.executable, *BENCH, '--out', str(tmp_path / 'whole')], env=env, text=True,
                           capture_output=True, timeout=900)  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    assert 'results.md' in whole.stdout
    sharded, unsharded = _rows(tmp_path / 'sharded'), _rows(tmp_path / 'whole')
    assert len(unsharded) == 3 and sharded == unsharded
    assert {r['latent_pixel_evals'] for r in unsharded} != {'0'}


def test_a_bad_shard_is_one_error_line(tmp_path):
    r = subprocess.run([sys.executable, *BENCH, '--out', str(tmp_path / 'b'), '--shard', '2/2'], text=True,
                       capture_output=True, timeout=300)  # fmt: skip
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "error: shard '2/2': expected I/N with 0 <= I < N, e.g. 0/2"
    ]
    assert not (tmp_path / 'b').exists()
