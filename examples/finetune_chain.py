"""A fine-tune and transfer chain: an external base known only by its hub id and revision → a fine-tune → a
PEFT adapter read from its adapter_config.json → a merge with another fine-tune → a quantized model; then the
whole chain traced from the quantized model.

Run: python examples/finetune_chain.py [FOLDER]
"""

from __future__ import annotations

import json
from pathlib import Path

from _llm_common import cli, fresh_project


def main() -> None:
    fresh_project("finetune-chain")
    for name in ("chat-ft", "code-ft", "merged", "merged-q4"):
        Path(f"{name}.safetensors").write_bytes(f"weights of {name}".encode())
    adapter = Path("chat-lora")
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "r": 16, "lora_alpha": 32, "base_model_name_or_path": None, "revision": None}))
    (adapter / "adapter_model.safetensors").write_bytes(b"lora weights")

    cli("model", "link", "chat-ft.safetensors", "--base", "hf:meta-llama/Llama-3.2-3B@13afe5124825",
        "--relation", "finetune", "--name", "chat-ft")
    cli("model", "import-peft", "chat-lora", "--base", "chat-ft@1")
    cli("model", "link", "code-ft.safetensors", "--base", "hf:meta-llama/Llama-3.2-3B@13afe5124825",
        "--relation", "finetune", "--name", "code-ft")
    cli("model", "link", "merged.safetensors", "--base", "chat-lora@1", "--base", "code-ft@1",
        "--relation", "merge", "--name", "merged")
    cli("model", "link", "merged-q4.safetensors", "--base", "merged@1", "--relation", "quantized",
        "--name", "merged-q4")
    cli("trace", "merged-q4@1")


if __name__ == "__main__":
    main()
