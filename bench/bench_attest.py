"""`verify-attestation` of a large model file against hashing the same file with hashlib.

The model file (1 GiB; ``MLINEAGE_BENCH_QUICK=1``: 64 MiB; ``MLINEAGE_BENCH_ATTEST_MB`` overrides) is written
into a temporary folder with random bytes and deleted afterwards. Its attestation is an in-toto Statement
(SLSA provenance v1) in a DSSE envelope signed with an Ed25519 key. Measured, best of three, alternating so
both see the same page cache: ``hashlib.file_digest(f, "sha256")`` (the peer: what any script would do),
``attestation.verify_file`` (every check: envelope, signature, statement, subject digest), the whole
``mlineage verify-attestation`` command in a fresh process through the console script's entry point
(start-up included), and, as the command's like-for-like peer, the same hashlib call in a fresh Python
process.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .harness import REPO, Result

GOAL = 1.2  # verify-attestation within 1.2x of hashing the file


def _write_model(path: Path, size: int) -> str:
    h = hashlib.sha256()
    block = os.urandom(1 << 20)
    with path.open("wb") as handle:
        for i in range(size >> 20):
            chunk = block[:8] + i.to_bytes(8, "little") + block[16:]  # no two MiB alike
            handle.write(chunk)
            h.update(chunk)
    return h.hexdigest()


def _hashlib(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


def run(quick: bool) -> list[Result]:
    from mlineage.provenance import attestation, dsse, keys, slsa

    megabytes = int(os.environ.get("MLINEAGE_BENCH_ATTEST_MB") or (64 if quick else 1024))
    with tempfile.TemporaryDirectory(prefix="mlineage-bench-attest-") as tmp:
        folder = Path(tmp)
        model = folder / "model.bin"
        digest = _write_model(model, megabytes << 20)
        pair = keys.generate(folder / "keys", "ed25519")
        statement = slsa.statement("model.bin", digest, None, [])
        envelope = dsse.sign(json.dumps(statement).encode(), keys.load_private(pair.private))
        att = folder / "model.intoto.json"
        att.write_text(json.dumps(envelope))
        public = keys.load_public(pair.public)
        command = [sys.executable, "-m", "mlineage.cli.entry", "verify-attestation", str(att), str(model),
                   "--key", str(pair.public)]
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))

        def library() -> None:
            [outcome] = attestation.verify_file(att, model, public)
            assert outcome.verified, outcome.to_dict()

        def cli() -> None:
            subprocess.run(command, check=True, capture_output=True, env=env, cwd=folder)

        script = "import hashlib, sys; hashlib.file_digest(open(sys.argv[1], 'rb'), 'sha256').hexdigest()"

        def hashlib_process() -> None:
            subprocess.run([sys.executable, "-c", script, str(model)], check=True, capture_output=True)

        assert _hashlib(model) == digest
        peer, ours, whole, peer_process = [], [], [], []
        for _ in range(3):
            peer.append(_timed(lambda: _hashlib(model)))
            ours.append(_timed(library))
            whole.append(_timed(cli))
            peer_process.append(_timed(hashlib_process))
    best_peer, best_ours, best_cli, best_process = min(peer), min(ours), min(whole), min(peer_process)
    print(f"  {megabytes:,} MiB: hashlib {best_peer:.3f} s (in a fresh process {best_process:.3f} s), "
          f"verify (library) {best_ours:.3f} s, verify-attestation (command) {best_cli:.3f} s")
    label = f"{megabytes:,} MiB model"
    peer_name = "hashlib.file_digest sha256"
    return [
        Result(f"verify-attestation, library call ({label})", best_ours, peer_name, best_peer, "s", False,
               f"<= {GOAL}x hashlib", best_ours <= GOAL * best_peer),
        Result(f"mlineage verify-attestation command ({label})", best_cli, peer_name + ", fresh process",
               best_process, "s", False, f"<= {GOAL}x hashlib", best_cli <= GOAL * best_process),
        Result(f"mlineage verify-attestation command vs in-process hashlib ({label})", best_cli, peer_name,
               best_peer, "s", False, f"<= {GOAL}x hashlib", best_cli <= GOAL * best_peer),
    ]
