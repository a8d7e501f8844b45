"""Human-in-the-loop edits: a manual weight edit, a prompt edit, an approval, and a labelling round imported
from a labelling tool's CSV export. Each is a human_edit run with the person as its agent, the digests before
and after, and the reason.

Run: python examples/hitl_edits.py [FOLDER]
"""

from __future__ import annotations

from pathlib import Path

from _llm_common import cli, fresh_project


def main() -> None:
    fresh_project("hitl-edits")
    Path("model.safetensors").write_bytes(b"weights v1")
    Path("model-edited.safetensors").write_bytes(b"weights v1 with the memorised phone number ablated")
    cli("edit", "record", "weight_edit", "--person", "alice@example.org", "--reason",
        "ablate a neuron that memorised a phone number", "--before", "model.safetensors",
        "--after", "model-edited.safetensors", "--item", "layer 11 neuron 2071", "--name", "assistant",
        "--artifact-kind", "model")
    Path("system-v1.txt").write_text("You are a support assistant.\n")
    Path("system-v2.txt").write_text("You are a support assistant. Never ask for card numbers.\n")
    cli("edit", "record", "prompt_edit", "--person", "bob@example.org", "--reason",
        "red-team finding RT-12", "--before", "system-v1.txt", "--after", "system-v2.txt",
        "--name", "system-prompt")
    cli("edit", "record", "approval", "--person", "carol@example.org", "--reason", "release review passed",
        "--before", "assistant@2")
    Path("labels-round-1.csv").write_text(
        "item_id,old_label,new_label,annotator,comment\n"
        "ticket-0007,billing,refund,dana@example.org,customer asked for money back\n"
        "ticket-0019,shipping,returns,dana@example.org,\n"
        "ticket-0023,spam,account,erin@example.org,not spam: a login problem\n")
    cli("edit", "import-labels", "labels-round-1.csv", "--reason", "weekly relabelling round")
    cli("edit", "import-labels", "labels-round-1.csv", "--reason", "weekly relabelling round")
    cli("edit", "list")
    cli("trace", "assistant@2")
    cli("impact", "assistant@2")


if __name__ == "__main__":
    main()
