"""Online learning: a model updated on 5,000 data packets, recorded as five checkpoints (one Merkle root per
1,000 packets, not one ledger event per packet), then one packet's use proven.

Run: python examples/online_learning.py [FOLDER]
"""

from __future__ import annotations

import hashlib

from _llm_common import cli, fresh_project

from mlineage.llm import OnlineRecorder


def main() -> None:
    fresh_project("online-learning")
    packets = [f'{{"user": {i % 97}, "clicked": {i % 2}}}'.encode() for i in range(5000)]
    checkpoints = []
    with OnlineRecorder("ctr-model", every=1000) as recorder:
        for packet in packets:
            # ... the model's incremental update on `packet` would go here ...
            done = recorder.update(packet)
            if done:
                checkpoints.append(done)
    print(f"{len(packets)} packets, {len(checkpoints)} checkpoints")
    cli("online", "prove", "ctr-model@3", "sha256:" + hashlib.sha256(packets[2345]).hexdigest())
    cli("trace", "ctr-model@5")


if __name__ == "__main__":
    main()
