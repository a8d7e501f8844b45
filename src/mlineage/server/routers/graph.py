"""Graph primitives: what a remote Client's lineage walk needs (one round trip per level)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as FPath
from pydantic import BaseModel, ConfigDict, Field

from ...model import NodeKind, NodeRef
from ...render import artifact_to_dict, run_to_dict
from ..deps import Reader, ServerDep
from ..models import ERRORS, MAX_NODE_ID, MAX_SEQ, NodeId
from ..responses import json_response

router = APIRouter(prefix="/api/v1/graph", tags=["graph"], responses=ERRORS)


class NodeIdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    node_ids: list[NodeId] = Field(max_length=100_000)


class AdjacentIn(NodeIdsIn):
    direction: str = Field(pattern="^(up|down)$")
    as_of_seq: int | None = Field(default=None, ge=0, le=MAX_SEQ)


@router.get("/node-id")
def node_id(p: Reader, state: ServerDep, kind: Annotated[str, Query(pattern="^(artifact|run)$")],
            key: Annotated[str, Query(min_length=1, max_length=160)]) -> Any:
    return json_response({"node_id": state.view(p).store.node_id(NodeRef(NodeKind(kind), key))})


@router.post("/adjacent")
def adjacent(body: AdjacentIn, p: Reader, state: ServerDep) -> Any:
    found = state.view(p).store.adjacent(body.node_ids, body.direction, body.as_of_seq)  # type: ignore[arg-type]
    return json_response({"edges": [[e.source, e.target, e.type, e.role, e.seq] for e in found]})


@router.post("/describe")
def describe(body: NodeIdsIn, p: Reader, state: ServerDep) -> Any:
    found = state.view(p).store.describe(body.node_ids)
    return json_response({"nodes": {str(k): (artifact_to_dict(v) if hasattr(v, "digest") else run_to_dict(v))  # type: ignore[arg-type]
                                    for k, v in found.items()}})


@router.get("/columns")
def graph_columns(p: Reader, state: ServerDep, after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)],
                  upto_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)]) -> Any:
    cols = state.view(p).store.graph_columns(after_seq, upto_seq)
    return json_response({"parent": cols.parent, "child": cols.child, "seq": cols.seq, "node_ids": cols.node_ids,
                          "node_kinds": cols.node_kinds, "last_node": getattr(cols, "last_node", None)})


@router.get("/state")
def graph_state(p: Reader, state: ServerDep, node_key: Annotated[str | None, Query(max_length=160)] = None) -> Any:
    head_seq, node = state.view(p).store.graph_state(node_key)
    return json_response({"head": head_seq, "node_id": node})


@router.get("/edge-count")
def edge_count(p: Reader, state: ServerDep) -> Any:
    return json_response({"estimate": state.view(p).store.edge_count_estimate()})


@router.get("/nodes/{node_id}/created-seq")
def node_created_seq(node_id: Annotated[int, FPath(ge=0, le=MAX_NODE_ID)], p: Reader, state: ServerDep) -> Any:
    return json_response({"seq": state.view(p).store.node_created_seq(node_id)})


@router.get("/seq-at")
def seq_at(p: Reader, state: ServerDep, ts: Annotated[str, Query(min_length=1, max_length=40)]) -> Any:
    return json_response({"seq": state.view(p).store.seq_at(ts)})


@router.get("/reachable")
def reachable(p: Reader, state: ServerDep, node_id: Annotated[int, Query(ge=0, le=MAX_NODE_ID)],
              direction: Annotated[str, Query(pattern="^(up|down)$")],
              as_of_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
              cap: Annotated[int | None, Query(ge=1, le=10**9)] = None) -> Any:
    return json_response({"node_ids": state.view(p).store.reachable(node_id, direction, as_of_seq, cap)})  # type: ignore[arg-type]
