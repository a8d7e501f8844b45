"""Federated learning: three clients train a tiny linear model for three rounds, simulated with numpy, and
the server records each round as a run: every client's update by digest and size under a pseudonymous id
(never the update's bytes, never the client's data), the FedAvg strategy by its code digest and parameters,
and the round's global model DERIVED_FROM the previous global model and the round's updates. A client whose
declared digest does not match its bytes is refused, and nothing of that round is written.

Run: python examples/federated.py [FOLDER]
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from _llm_common import cli, fresh_project

from mlineage.errors import ValidationError
from mlineage.llm.federated import pseudonym
from mlineage.llm.federated_recorder import FederatedRecorder, ReceivedUpdate

SECRET = b"kept by the federation server, never recorded"


def fedavg(updates: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """Weighted average of the clients' weights by their number of examples (FedAvg)."""
    total = sum(n for _, n in updates)
    return sum(w * (n / total) for w, n in updates)  # type: ignore[return-value]


def to_bytes(weights: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, weights, allow_pickle=False)
    return buffer.getvalue()


def local_training(weights: np.ndarray, x: np.ndarray, y: np.ndarray, steps: int = 20) -> np.ndarray:
    w = weights.copy()
    for _ in range(steps):
        w -= 0.1 * x.T @ (x @ w - y) / len(y)
    return w


def main() -> None:
    fresh_project("federated")
    rng = np.random.default_rng(0)
    true_w = np.array([2.0, -1.0, 0.5])
    hospitals = {}
    for name in ("st-mary", "general", "childrens"):
        x = rng.normal(size=(int(rng.integers(40, 80)), 3))
        hospitals[pseudonym(name, SECRET)] = (x, x @ true_w + rng.normal(scale=0.1, size=len(x)))
    weights = np.zeros(3)
    recorder = FederatedRecorder("hospitals", fedavg, {"fraction_fit": 1.0, "local_steps": 20, "lr": 0.1},
                                 initial_model=to_bytes(weights))
    for number in (1, 2, 3):
        received, local = [], []
        for client_id, (x, y) in hospitals.items():
            update = local_training(weights, x, y)
            data = to_bytes(update)
            declared = "sha256:" + hashlib.sha256(data).hexdigest()  # what the client sends with its update
            received.append(ReceivedUpdate(client_id, data, declared, len(y)))
            local.append((update, len(y)))
        weights = fedavg(local)
        recorder.record_round(number, received, to_bytes(weights))
        print(f"round {number}: global weights {np.round(weights, 3).tolist()}")
    tampered = ReceivedUpdate(next(iter(hospitals)), b"not what was declared", received[0].declared_digest)
    try:
        recorder.record_round(4, [tampered], to_bytes(weights + 1))
    except ValidationError as refused:
        print(f"round 4 refused: {refused}")
    cli("federated", "rounds", "hospitals")
    cli("trace", "hospitals-global@2")


if __name__ == "__main__":
    main()
