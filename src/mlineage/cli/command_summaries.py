"""The first paragraph of each top-level command's help, so that ``mlineage --help`` lists the commands
without importing their modules (``main._Group.format_commands``); click shortens it exactly as it would
the command's own help. tests/cli/test_command_index.py checks each entry against its command: after
changing a command's first paragraph, or adding a command, copy the paragraph here."""

from __future__ import annotations

SUMMARIES: dict[str, str] = {
    "add": "Version files and directories: store their content, record them, write PATH.lin pointers.",
    "alias": (
        "Aliases of a registered model (NAME@production): every move is an event with who, when and why."),
    "approval": "Approval states of registry versions (pending, approved, rejected) with who and why.",
    "attest": (
        "Sign an in-toto Statement (SLSA provenance v1) for MODEL, a model file or a REF, as a DSSE "
        "envelope."),
    "check": "Run the policy's quality gates on REFs (default: every artifact the policy names).",
    "checkout": "Restore tracked data to what its pointers say (from the cache, else from the remote).",
    "closure": (
        "List every data, code and environment anchor needed to reproduce REF, and whether each is "
        "present."),
    "compare": "Put runs' params and final metrics side by side; rows whose values differ are marked.",
    "corpus": "Training corpus versions: Merkle roots over shards and documents, proofs, takedown look-ups.",
    "deploy": (
        "Record a deployment: the version the alias names now (by digest), endpoint, environment, who, "
        "when."),
    "diff": "Show what changed between two dataset versions: schema, rows, and the semantic-version level.",
    "drift": (
        "Measure per-column drift from A to B (PSI, KS, Wasserstein; Jensen-Shannon, chi-squared), from "
        "the stored profiles (from the data when a side has none). Exit status 1 when a threshold is "
        "crossed."),
    "edit": (
        "Human-in-the-loop edits: label corrections, weight and prompt edits, approvals, with who and "
        "why."),
    "emit": (
        "Record events read from SOURCE (a file, or - for stdin): one JSON object, a JSON list, or JSON "
        "lines."),
    "endpoint": "Serving endpoints and what served them.",
    "erase": (
        "Erase REF's data: its blobs and the payloads holding its content, each replaced by a redaction "
        "event."),
    "erasure": "Erasure requests: what was erased, which models it reached, and what was decided for each.",
    "explain-answer": (
        "Walk an answer back: model version, retrieved chunks, index version, embedding model, source "
        "documents (their inclusion proven) and licences."),
    "export": "Export the whole ledger as JSON Lines, or REF's provenance in a standard format (--format).",
    "federated": "Federated learning: rounds as runs, client updates by digest and pseudonymous id.",
    "fsck": (
        "Re-hash every object in the cache; report corrupted objects and referenced objects that are "
        "missing."),
    "gc": "Remove cache objects that no pointer file and no ledger record reaches.",
    "get": "Fetch an artifact's bytes by name, name@version or digest, verified against its digest.",
    "impact": "Show everything derived from REF (all descendants), as a tree.",
    "import": (
        "Import history from DVC, MLflow or OpenLineage event logs (idempotent: importing again adds "
        "nothing, and an interrupted import resumes where it stopped)."),
    "incident": "Incidents: a bad artifact, what it reached, and how it was resolved.",
    "index": "Embedding index versions: corpus + embedding model + chunker + parameters, chunk by chunk.",
    "init": "Create a .mlineage/ project in PATH (default: here) and its metadata store.",
    "keys": "Signing keys for attestations and model signatures (PEM files).",
    "licence": (
        "Explain which ancestor of REF brings which licence obligation, with the path (or record one "
        "with --set)."),
    "lineage-diff": (
        "Show what differs between two models' ancestries: datasets, code, environment, parameters."),
    "metrics": (
        "Show a run's metrics: each key's last value, range and history as a sparkline, or one KEY step "
        "by step."),
    "model": "Fine-tune and transfer chains: base → fine-tune → adapter → merge → quantized.",
    "models": "A registered model's versions and the aliases pointing at them.",
    "online": "Online-learning checkpoints: packet digests batched under one Merkle root.",
    "owner": "Who owns an artifact or a name (recorded as events; `check` names the owner of each failure).",
    "path": "Show the chain(s) of runs and artifacts from SOURCE to TARGET (either may be the ancestor).",
    "profile": (
        "Show a table's profile: rows and, per column, type, NULLs, distinct values, range, mean, top "
        "values."),
    "promote": "Run the policy's gates (mlineage.policy.yaml) on NAME@N and move NAME@ALIAS there.",
    "pull": (
        "Download the objects the pointers name that the cache lacks, verify each, then check the data "
        "out."),
    "push": "Upload the objects the pointers name that the remote lacks (only those, in parallel batches).",
    "rebuild": (
        "Verify the ledger, then drop every projection table and replay the ledger into it (in one "
        "transaction)."),
    "register": (
        "Give a model (a file or folder, recorded if new, or a REF) the next immutable registry version."),
    "reproduce": "Re-run what produced REF from its recorded inputs, code and command; compare the outputs.",
    "reproducible": (
        "Explain R(REF) = data · code · environment term by term; exit 1 when REF is not reproducible."),
    "rollback": (
        "Put dataset NAME back to an earlier version (--to), or model NAME's ALIAS past a bad artifact."),
    "run": "Act on one recorded run (close a run whose process died).",
    "runs": (
        "List recorded runs, newest first. A running run whose process is gone, or that has shown no "
        "sign of life for too long, shows as lost."),
    "scan": (
        "Reconstruct lineage where nothing was tracked: `mlineage scan DIR` records DIR's files and the "
        "edges its scripts, notebooks and logs suggest, marked INFERRED with a confidence and the "
        "evidence (file:line). `scan edges` lists them; `scan confirm EDGE` / `scan reject EDGE` record "
        "a decision."),
    "server": "Serve the HTTP API (OpenAPI at /docs and /openapi.json) over a SQL store.",
    "show": "Show one artifact or run: its record, inputs/outputs or producers, and lineage summary.",
    "sign-model": (
        "Sign a model folder in the OpenSSF model-signing format (`model_signing verify key` accepts "
        "it)."),
    "source": "Record where REF came from when no run produced it (a URL, a vendor, a request number).",
    "status": "Show which tracked paths changed, are missing, or have invalid pointers.",
    "sync": "Ship the local event spool and queued blobs to the server now (MLINEAGE_URI=http(s)://...).",
    "token": "Create, list and revoke API tokens (stored hashed in the server's database).",
    "trace": "Show everything REF was derived from (all ancestors), as a tree.",
    "traces": "Serving traces: which registry version (and index and prompt version) answered each request.",
    "ui": "Browse this project's lineage in a web browser (http://127.0.0.1:PORT).",
    "verify": (
        "Walk the hash chain and report the first altered, missing or reordered event; then check the "
        "ledger still holds the newest checkpoint (the project's mlineage.checkpoint, or an export's "
        "last line)."),
    "verify-attestation": (
        "Check an attestation: its signature with --key, and that MODEL_FILE's SHA-256 is its subject."),
    "verify-model": "Verify a model folder against an OpenSSF model-signing bundle signed with a key.",
    "versions": (
        "List every version of NAME: digest, size, who recorded it and when, and the runs that used it."),
    "webhooks": "Webhooks: alias moves, approval changes, incidents and erasures POSTed to configured URLs.",
}
