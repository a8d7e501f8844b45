"""The environment a run executed in: interpreter, OS, installed packages, lockfiles, container, hardware.

The result is an *environment manifest*, stored as a content-addressed artifact of kind ``environment``:
every run of a process (and every process on an identical machine and venv) gets the same digest, so the
ledger stores the manifest once and each run links to it.

Everything here is computed once per process and cached: the package manifest (``importlib.metadata`` walks
every ``*.dist-info`` folder, slow in a large venv: also kept on disk between processes, see
``package_cache``), the lockfile digests per project root, the container,
Kubernetes and hardware facts. Accelerator facts (CUDA, cuDNN, driver, GPU names) are read only when the
program has already imported torch: mlineage never imports torch itself (seconds of start-up).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import sys
from pathlib import Path
from typing import Any

from .code import file_digest
from .hardware import accelerators, hardware
from .package_cache import cached_manifest
from .redact import redact_environ, redact_text

# Lockfiles and environment specs looked for at the project root (not recursively: that is cheap and exact).
LOCKFILE_PATTERNS = (
    re.compile(r"^uv\.lock$"), re.compile(r"^poetry\.lock$"), re.compile(r"^Pipfile\.lock$"),
    re.compile(r"^pdm\.lock$"), re.compile(r"^pixi\.lock$"), re.compile(r"^conda-lock\.ya?ml$"),
    re.compile(r"^requirements.*\.(txt|lock|in)$"), re.compile(r"^(environment|conda).*\.ya?ml$"),
    re.compile(r"^constraints.*\.txt$"),
)
# Environment variables that change what a run computes, recorded (after redaction) in the manifest.
ENV_PREFIXES = (
    "PYTHONHASHSEED", "PYTHONPATH", "CUDA_", "CUBLAS_", "CUDNN_", "NCCL_", "NVIDIA_", "OMP_", "MKL_",
    "OPENBLAS_", "BLIS_", "TORCH_", "PYTORCH_", "TF_", "XLA_", "JAX_", "HF_", "TRANSFORMERS_", "TOKENIZERS_",
    "LANG", "LC_ALL", "TZ", "SOURCE_DATE_EPOCH", "MLINEAGE_",
)
# The documented variables a user or orchestrator sets to name the container image a run executes in.
IMAGE_VARS = ("MLINEAGE_IMAGE", "MLINEAGE_IMAGE_DIGEST")
# Commonly set by CI systems and orchestrators; read when the mlineage variables are absent.
IMAGE_FALLBACK_VARS = ("CONTAINER_IMAGE", "DOCKER_IMAGE")
DIGEST_FALLBACK_VARS = ("IMAGE_DIGEST",)
_DIGEST_IN_TEXT = re.compile(r"sha256:[0-9a-f]{64}")
_CONTAINER_ID = re.compile(
    r"(?:docker|containerd|crio|libpod|cri-containerd)[-/:]([0-9a-f]{64})|/([0-9a-f]{64})(?:/|$)"
)
K8S_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def clear_cache() -> None:
    packages.cache_clear()
    lockfiles.cache_clear()
    process_container.cache_clear()
    process_kubernetes.cache_clear()
    _environ_cache.clear()
    _static_manifest.cache_clear()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@functools.lru_cache(maxsize=1)
def packages() -> tuple[tuple[tuple[str, str], ...], str]:
    """((name, version), ...) of every installed distribution, sorted, and the digest of that list (kept on
    disk between processes: see ``package_cache``)."""
    return cached_manifest(_list_packages, _packages_digest)


def _list_packages() -> tuple[tuple[tuple[str, str], ...], str]:
    import importlib.metadata  # only when the list kept on disk does not hold

    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if not name:
            continue
        key = re.sub(r"[-_.]+", "-", name).lower()
        found.setdefault(key, dist.version or "")
    items = tuple(sorted(found.items()))
    return items, _packages_digest([list(i) for i in items])


def _packages_digest(items: list[list[str]]) -> str:
    return "sha256:" + hashlib.sha256(_canonical(items)).hexdigest()


@functools.lru_cache(maxsize=16)
def lockfiles(root: str) -> tuple[tuple[str, str], ...]:
    """((file name, digest), ...) of the lockfiles at the project root."""
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return ()
    out = []
    for name in names:
        if any(p.match(name) for p in LOCKFILE_PATTERNS):
            found = file_digest(Path(root, name))
            if found is not None:
                out.append((name, found[0]))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def process_container() -> dict[str, Any] | None:
    """``container_info()`` of this process, computed once."""
    return container_info()


@functools.lru_cache(maxsize=1)
def process_kubernetes() -> dict[str, Any] | None:
    """``kubernetes_info()`` of this process, computed once."""
    return kubernetes_info()


_RUNTIME_CLIS = ("docker", "podman")


def resolve_image_digest(image: str, path: str | None = None) -> str | None:
    """The registry digest a tag resolves to now, asked of a container runtime on ``path`` (``docker`` or
    ``podman image inspect``); None when neither is there, the image is not pulled, or it has no registry
    digest. A tag is mutable, so the digest is what makes the recorded environment reproducible."""
    import shutil
    import subprocess

    for name in _RUNTIME_CLIS:
        cli = shutil.which(name, path=path)
        if cli is None:
            continue
        try:
            done = subprocess.run([cli, "image", "inspect", "--format", "{{json .RepoDigests}}", image],
                                  capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0 and (m := _DIGEST_IN_TEXT.search(done.stdout)):
            return m.group(0)
    return None


def container_info(environ: dict[str, str] | os._Environ[str] | None = None, fs_root: Path = Path("/")
                   ) -> dict[str, Any] | None:
    """The container this process runs in, if any: image (from the documented variables) and runtime facts."""
    env = os.environ if environ is None else environ
    info: dict[str, Any] = {}
    image = env.get("MLINEAGE_IMAGE") or next((env[v] for v in IMAGE_FALLBACK_VARS if env.get(v)), None)
    digest = env.get("MLINEAGE_IMAGE_DIGEST") or next(
        (env[v] for v in DIGEST_FALLBACK_VARS if env.get(v)), None
    )
    if image:
        info["image"] = redact_text(image)
        if digest is None and (m := _DIGEST_IN_TEXT.search(image)):
            digest = m.group(0)
    runtime = None
    if (fs_root / ".dockerenv").exists():
        runtime = "docker"
    containerenv = fs_root / "run/.containerenv"  # podman writes image name and id here
    if containerenv.is_file():
        runtime = "podman"
        try:
            for line in containerenv.read_text().splitlines():
                key, _, value = line.partition("=")
                value = value.strip().strip('"')
                if key == "image" and value and "image" not in info:
                    info["image"] = redact_text(value)
                elif key == "imageid" and value and digest is None:
                    digest = value if value.startswith("sha256:") else f"sha256:{value}"
        except OSError:
            pass
    container_id = None
    for source in ("proc/self/cgroup", "proc/self/mountinfo"):
        try:
            text = (fs_root / source).read_text(errors="replace")
        except OSError:
            continue
        if runtime is None and re.search(r"docker|kubepods|containerd|crio|libpod", text):
            runtime = "container"
        if container_id is None and (m := _CONTAINER_ID.search(text)):
            container_id = m.group(1) or m.group(2)
    if digest is None and image:
        digest = resolve_image_digest(image, env.get("PATH"))
    if digest:
        info["image_digest"] = digest
    elif "image" in info:  # a tag names whatever was pushed under it last: the environment is not pinned
        info["pinned"] = False
    if runtime is None and not info:
        return None
    if runtime is not None:
        info["runtime"] = runtime
        if container_id:
            info["container_id"] = container_id
    return info


def kubernetes_info(environ: dict[str, str] | os._Environ[str] | None = None,
                    namespace_file: Path = K8S_NAMESPACE_FILE) -> dict[str, Any] | None:
    """Pod and namespace when running in Kubernetes (the downward API variables, else the service account)."""
    env = os.environ if environ is None else environ
    if (
        not env.get("KUBERNETES_SERVICE_HOST")
        and not env.get("POD_NAME")
        and not env.get("MLINEAGE_POD_NAME")
    ):
        return None
    info: dict[str, Any] = {}
    pod = env.get("MLINEAGE_POD_NAME") or env.get("POD_NAME") or env.get("HOSTNAME")
    if pod:
        info["pod"] = pod
    namespace = env.get("MLINEAGE_POD_NAMESPACE") or env.get("POD_NAMESPACE")
    if not namespace:
        try:
            namespace = namespace_file.read_text().strip() or None
        except OSError:
            namespace = None
    if namespace:
        info["namespace"] = namespace
    node = env.get("NODE_NAME") or env.get("MLINEAGE_NODE_NAME")
    if node:
        info["node"] = node
    return info


_ENV_PREFIXES_BYTES = tuple(p.encode() for p in ENV_PREFIXES)
_environ_cache: dict[Any, dict[str, str]] = {}


def relevant_environ(environ: dict[str, str] | os._Environ[str] | None = None) -> dict[str, str]:
    """The environment variables that shape a computation, redacted (names that look like secrets).

    For ``os.environ`` the raw bytes are filtered first and the redacted result is cached on them, so the
    per-run cost is one pass over the environment without decoding it."""
    if environ is None:
        data = getattr(os.environ, "_data", None)
        if isinstance(data, dict):
            key = tuple((k, v) for k, v in data.items()
                        if isinstance(k, bytes) and k.startswith(_ENV_PREFIXES_BYTES))
            found = _environ_cache.get(key)
            if found is None:
                if len(_environ_cache) > 64:
                    _environ_cache.clear()
                found = _environ_cache[key] = relevant_environ(dict(os.environ))
            return found
        environ = os.environ
    return redact_environ({k: v for k, v in environ.items() if k.startswith(ENV_PREFIXES)})


@functools.lru_cache(maxsize=16)
def _static_manifest(root: str | None, torch_loaded: bool) -> dict[str, Any]:
    items, digest = packages()
    doc: dict[str, Any] = {
        "schema": "mlineage.environment/1",
        "python": {
            "version": platform.python_version(), "implementation": platform.python_implementation(),
            "in_venv": sys.prefix != sys.base_prefix,
        },
        "os": {
            "system": platform.system(), "release": platform.release(), "machine": platform.machine(),
            "platform": platform.platform(terse=True),
        },
        "packages": [{"name": n, "version": v} for n, v in items],
        "packages_digest": digest,
        "hardware": hardware(),
    }
    if root is not None:
        doc["lockfiles"] = [{"path": n, "digest": d} for n, d in lockfiles(root)]
    container = process_container()
    if container:  # the image belongs to the environment; the container's own id is per run (see context)
        doc["container"] = {k: v for k, v in container.items() if k != "container_id"}
    if torch_loaded:
        acc = accelerators()
        if acc:
            doc["accelerators"] = acc
    return doc


def environment_manifest(root: Path | None) -> dict[str, Any]:
    """The environment manifest document (JSON-ready). ``root`` is where lockfiles are looked for."""
    doc = dict(_static_manifest(str(root) if root is not None else None, "torch" in sys.modules))
    env = relevant_environ()
    if env:
        doc["env"] = env
    return doc
