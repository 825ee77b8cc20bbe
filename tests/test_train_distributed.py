"""Multi-process training: ``torchrun --nproc_per_node 2`` (gloo on the CPU) runs
``hfn-hls train`` on the digits preset; both ranks end with the same model (every
tensor of the state dict: scores, frozen masks, BatchNorm parameters and running
statistics, quantiser scales), rank 0's checkpoint is that model, and it exports and
compiles to IR.

Each rank's final state is observed by a test-only wrapper (written below, run by
torchrun): it wraps ``hfn_hls.train.Trainer.fit`` to keep the model that ``train``
trains (in place), runs the ``train`` command, then writes a digest of the
model's state dict per rank.  train.py is not changed for this.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

WRAPPER = textwrap.dedent('''
    import hashlib, json, os, sys
    import hfn_hls.train as T
    from hfn_hls.cli import main

    built = []
    _fit = T.Trainer.fit
    def keep(self, model, *a, **k):
        built.append(model)
        return _fit(self, model, *a, **k)
    T.Trainer.fit = keep

    out, argv = sys.argv[1], sys.argv[2:]
    rc = main(argv)
    rank = int(os.environ["RANK"])
    state = {n: t.detach().cpu().contiguous().numpy()
             for n, t in built[0].state_dict().items()}
    digest = {n: hashlib.sha256(a.tobytes() + str(a.dtype).encode()
                                + str(a.shape).encode()).hexdigest()
              for n, a in state.items()}
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump({"rc": rc, "world": int(os.environ["WORLD_SIZE"]), "digest": digest}, f)
    sys.exit(rc)
''')


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def hfn(*args, cwd=None):
    r = subprocess.run([sys.executable, "-m", "hfn_hls.cli", *map(str, args)], cwd=cwd,
                       capture_output=True, text=True, env=_env())
    return r.returncode, r.stdout, r.stderr


def state_digest(state_dict) -> dict:
    import hashlib
    out = {}
    for n, t in state_dict.items():
        a = t.detach().cpu().contiguous().numpy()
        out[n] = hashlib.sha256(a.tobytes() + str(a.dtype).encode()
                                + str(a.shape).encode()).hexdigest()
    return out


def test_torchrun_two_ranks_identical_and_exports(tmp_path):
    import torch

    wrapper = tmp_path / "rank_digest.py"
    wrapper.write_text(WRAPPER)
    run, digests = tmp_path / "run", tmp_path / "digests"
    digests.mkdir()
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           "--nproc_per_node", "2", str(wrapper), str(digests),
           "train", "--preset", "digits", "-o", str(run), "--epochs", "1",
           "--threads", "1", "--no-progress"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    ranks = [json.loads((digests / f"rank{i}.json").read_text()) for i in (0, 1)]
    assert [(d["rc"], d["world"]) for d in ranks] == [(0, 2), (0, 2)]
    d0, d1 = ranks[0]["digest"], ranks[1]["digest"]
    assert d0.keys() == d1.keys()
    kinds = {n.rsplit(".", 1)[-1] for n in d0}
    assert {"scores", "frozen_mask", "running_mean", "running_var", "weight"} <= kinds, kinds
    differ = sorted(n for n in d0 if d0[n] != d1[n])
    assert not differ, f"the ranks end with different {differ}"

    # rank 0 wrote the checkpoint and the metrics: that model, trained on 2 processes
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["epochs"] == 1
    ckpt = torch.load(run / "model.pt", map_location="cpu", weights_only=False)
    assert state_digest(ckpt["state_dict"]) == d0

    # and it exports and compiles to IR (weights verified against the LFSR + masks)
    rc, _, err = hfn("export", run, "-o", tmp_path / "model.onnx")
    assert rc == 0, err
    rc, out, err = hfn("ir", tmp_path / "model.onnx", "-o", tmp_path / "ir.json")
    assert rc == 0, err
    ir = json.loads((tmp_path / "ir.json").read_text())
    assert len(ir["layers"]) == 9
