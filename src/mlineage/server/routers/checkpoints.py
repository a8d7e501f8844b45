"""The signed checkpoint log over HTTP: the public key, the latest signed head, the log
(``checkpoint_log.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..checkpoint_log import CheckpointLog
from ..deps import Reader, ServerDep, ServerState
from ..models import ERRORS, MAX_SEQ

router = APIRouter(prefix="/api/v1", tags=["checkpoints"], responses=ERRORS)


def _log(state: ServerState) -> CheckpointLog:
    assert state.checkpoints is not None  # create_app always sets it
    return state.checkpoints


@router.get("/checkpoints/key")
def checkpoint_key(state: ServerDep) -> dict[str, Any]:
    """The public key that signs this server's checkpoints (Ed25519, raw 32 bytes in base64). Public: an
    auditor needs no token to check a signature."""
    return _log(state).key_document()


@router.get("/checkpoints/latest")
def latest_checkpoint(p: Reader, state: ServerDep) -> dict[str, Any]:
    """A signed checkpoint of the current ledger head (signed now when the log is behind it)."""
    seq, hash_ = state.client.store.head()
    if seq == 0:
        return {"seq": 0, "hash": hash_, "time": None, "signature": None}
    return _log(state).sign(seq, hash_)


@router.get("/checkpoints")
def list_checkpoints(p: Reader, state: ServerDep, after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """The signed checkpoint log, oldest first."""
    return {"key_id": _log(state).key_id, "checkpoints": _log(state).entries(after_seq, limit)}
