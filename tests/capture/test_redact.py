"""Secret redaction rules: names, URLs, known token formats, command lines, environments, event payloads."""

from __future__ import annotations

import pytest

from mlineage.capture.redact import (
    REDACTED,
    is_secret_name,
    redact_argv,
    redact_environ,
    redact_params,
    redact_payload,
    redact_text,
    strip_url_credentials,
)

# Planted secrets in the formats the redactor must recognise by value alone (all fake).
TOKENS = [
    "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "glpat-" + "abcdefghij1234567890",
    "AKIA" + "IOSFODNN7EXAMPLE",
    "sk-" + "proj-abcdefghijklmnopqrstuvwxyz012345",
    "sk-ant-" + "api03-abcdefghijklmnopqrstuvwxyz",
    "hf_" + "abcdefghijklmnopqrstuvwxyzABCDEFGH",
    "xoxb-" + "123456789012-abcdefghijkl",
    "sk_live_" + "abcdefghijklmnop1234",
    "AIza" + "SyA-abcdefghijklmnopqrstuvwxyz01234",
    "npm_" + "abcdefghijklmnopqrstuvwxyz0123456789",
    "pypi-AgE" + "IcHlwaS5vcmcCJGFiY2RlZmdoaWprbG1ub3A",
    "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
]


@pytest.mark.parametrize("token", TOKENS)
def test_known_token_formats_are_redacted_wherever_they_appear(token: str) -> None:
    text = f"prefix {token} suffix"
    cleaned = redact_text(text)
    assert token not in cleaned and REDACTED in cleaned
    assert cleaned.startswith("prefix ")


@pytest.mark.parametrize(
    "name",
    [
        "API_KEY",
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "PGPASSWORD",
        "MY_CREDENTIALS",
        "hub_token",
        "secret_key",
        "Authorization",
        "SENTRY_DSN",
        "WANDB_API_KEY",
        "--api-key",
        "session",
        "private_key",
        "passphrase",
    ],
)
def test_credential_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "PWD", "learning_rate", "tokenizer", "pad_token_id",
                                  "max_tokens", "key", "author", "keyboard", "OMP_NUM_THREADS", "batch_size"])
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


def test_url_credentials_are_stripped() -> None:
    assert strip_url_credentials("https://bob:hunter2@example.com/x.git") == "https://example.com/x.git"
    assert strip_url_credentials("postgresql://u:p@db:5432/app?sslmode=require") == "postgresql://db:5432/app?sslmode=require"
    assert (
        redact_text("clone https://oauth2:glpat-xyz@gitlab.com/a/b then")
        == "clone https://gitlab.com/a/b then"
    )
    assert (
        strip_url_credentials("git@github.com:o/r.git") == "git@github.com:o/r.git"
    )  # no secret in scp form
    assert strip_url_credentials("plain text") == "plain text"


def test_inline_secret_pairs_are_redacted() -> None:
    assert redact_text("host=db password=hunter2 user=x") == f"host=db password={REDACTED} user=x"
    assert redact_text("lr=0.1 epochs=3") == "lr=0.1 epochs=3"


def test_params_are_redacted_by_name_and_by_value() -> None:
    params = {"lr": 0.1, "api_key": "abc123", "note": f"uses {TOKENS[0]}", "nested": {"db_password": "pw"},
              "hub_private_repo": True, "layers": [TOKENS[6], 3]}
    out = redact_params(params)
    assert out["lr"] == 0.1 and out["api_key"] == REDACTED and TOKENS[0] not in out["note"]
    assert out["nested"] == {"db_password": REDACTED}
    assert out["hub_private_repo"] is True  # a boolean cannot leak a credential
    assert out["layers"] == [REDACTED, 3]
    assert params["api_key"] == "abc123"  # the input is not modified


def test_argv_redaction() -> None:
    argv = ["train.py", "--password", "hunter2", "--lr=0.1", "--api-key=abc", "--db",
            "postgresql://u:pw@h/d", "-v", "--token", TOKENS[6]]
    out = redact_argv(argv)
    assert out == ["train.py", "--password", REDACTED, "--lr=0.1", f"--api-key={REDACTED}", "--db",
                   "postgresql://h/d", "-v", "--token", REDACTED]


def test_environ_redaction() -> None:
    out = redact_environ({"HF_TOKEN": "hf_x", "OMP_NUM_THREADS": "2", "MLINEAGE_URI": "postgresql://u:pw@h/db"})
    assert out == {"HF_TOKEN": REDACTED, "MLINEAGE_URI": "postgresql://h/db", "OMP_NUM_THREADS": "2"}


def test_payload_last_line_of_defence() -> None:
    started = redact_payload("RunStarted", {"run_id": "r", "params": {"token": "t0k"},
                                            "context": {"argv": [f"--x={TOKENS[3]}"]}})
    assert started["params"] == {"token": REDACTED} and TOKENS[3] not in str(started)
    logged = redact_payload("ParamsLogged", {"run_id": "r", "params": {"password": "pw"}})
    assert logged["params"] == {"password": REDACTED}
    ended = redact_payload("RunEnded", {"run_id": "r", "status": "failed",
                                        "error": {"type": "E", "message": "cannot reach postgresql://u:pw@h/d"}})
    assert "pw" not in ended["error"]["message"]
    other = {"digest": "sha256:" + "0" * 64}
    assert redact_payload("ArtifactRecorded", other) is other
