"""OpenSSF model signing: what mlineage signs, the model_signing library (1.x) verifies, and the other way
round; a flipped byte, an extra file or another key fails both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlineage.cli.main import cli
from mlineage.errors import ValidationError
from mlineage.provenance import keys, modelsign

model_signing = pytest.importorskip("model_signing", reason="model-signing is in the dev extra")


def _model(folder: Path) -> Path:
    root = folder / "my-model"
    (root / "weights").mkdir(parents=True)
    (root / "config.json").write_text('{"layers": 2}')
    (root / "weights" / "a-b.bin").write_bytes(bytes(range(256)) * 64)
    (root / "weights-x").mkdir()
    (root / "weights-x" / "c.bin").write_bytes(b"c" * 1000)
    (root / ".gitattributes").write_text("*.bin filter=lfs\n")
    return root


def _sign(root: Path, key: Path, signature: Path) -> None:
    signature.write_text(json.dumps(modelsign.sign(root, keys.load_private(key), signature)))


def _verify_with_model_signing(root: Path, signature: Path, public: Path) -> None:
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=public).verify(root, signature)


def test_model_signing_verifies_what_mlineage_signs(tmp_path: Path) -> None:
    root = _model(tmp_path)
    pair = keys.generate(tmp_path / "keys", "ecdsa-p256")
    signature = tmp_path / "model.sig"
    _sign(root, pair.private, signature)
    _verify_with_model_signing(root, signature, pair.public)
    assert modelsign.verify(root, signature, keys.load_public(pair.public)) == []
    inside = root / "model.sig"  # a signature kept inside the folder is left out of the manifest
    _sign(root, pair.private, inside)
    _verify_with_model_signing(root, inside, pair.public)
    assert modelsign.verify(root, inside, keys.load_public(pair.public)) == []


def test_mlineage_verifies_what_model_signing_signs(tmp_path: Path) -> None:
    root = _model(tmp_path)
    pair = keys.generate(tmp_path / "keys", "ecdsa-p256")
    signature = tmp_path / "theirs.sig"
    model_signing.signing.Config().use_elliptic_key_signer(private_key=pair.private).sign(root, signature)
    assert modelsign.verify(root, signature, keys.load_public(pair.public)) == []


def test_a_flipped_byte_an_extra_file_or_another_key_fails_both_verifiers(tmp_path: Path) -> None:
    root = _model(tmp_path)
    pair = keys.generate(tmp_path / "keys", "ecdsa-p256")
    signature = tmp_path / "model.sig"
    _sign(root, pair.private, signature)
    weights = root / "weights" / "a-b.bin"
    data = bytearray(weights.read_bytes())
    data[100] ^= 0x01
    weights.write_bytes(bytes(data))
    problems = modelsign.verify(root, signature, keys.load_public(pair.public))
    assert problems == ["changed file: weights/a-b.bin"]
    with pytest.raises(ValueError, match="Hash mismatch"):
        _verify_with_model_signing(root, signature, pair.public)
    data[100] ^= 0x01
    weights.write_bytes(bytes(data))
    (root / "extra.txt").write_text("x")
    assert modelsign.verify(root, signature, keys.load_public(pair.public)) == ["extra file: extra.txt"]
    with pytest.raises(ValueError, match="Extra files"):
        _verify_with_model_signing(root, signature, pair.public)
    (root / "extra.txt").unlink()
    other = keys.generate(tmp_path / "other", "ecdsa-p256")
    assert modelsign.verify(root, signature, keys.load_public(other.public))[0].startswith("key:")
    with pytest.raises(ValueError, match="Key mismatch"):
        _verify_with_model_signing(root, signature, other.public)


def test_ed25519_is_refused_and_the_cli_round_trip(tmp_path: Path) -> None:
    root = _model(tmp_path)
    ed = keys.generate(tmp_path / "ed", "ed25519")
    with pytest.raises(ValidationError, match="ECDSA P-256"):
        modelsign.sign(root, keys.load_private(ed.private), tmp_path / "x.sig")
    pair = keys.generate(tmp_path / "keys", "ecdsa-p256")
    signature = tmp_path / "cli.sig"
    runner = CliRunner()
    signed = runner.invoke(cli, ["sign-model", str(root), "--key", str(pair.private), "-o", str(signature)])
    assert signed.exit_code == 0, signed.output
    _verify_with_model_signing(root, signature, pair.public)
    ok = runner.invoke(cli, ["verify-model", str(root), str(signature), "--key", str(pair.public)])
    assert ok.exit_code == 0 and ok.output.startswith("verified")
    (root / "config.json").write_text('{"layers": 3}')
    bad = runner.invoke(cli, ["verify-model", str(root), str(signature), "--key", str(pair.public)])
    assert bad.exit_code == 1 and "changed file: config.json" in bad.output
