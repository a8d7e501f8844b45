"""The data workspace: scan tracked paths with the stat cache, add them, report status, check them out.

Nothing here imports SQLAlchemy: only ``add`` touches the ledger, through a Client it is handed or opens
late, so ``status`` and ``checkout`` of a clean tree cost a walk, a few stats and one SQLite lookup.

Order of writes in ``add``: blobs (atomic, under their digest), then the ledger event, then the pointer file
(atomic rename), then ``.gitignore``. A crash at any point leaves no pointer naming a blob that was not stored.
"""

from __future__ import annotations

import contextlib
import os
import stat as stat_mod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..background import Background
from ..blobs.local import LocalBlobStore
from ..blobs.placement import place, write_text_atomically
from ..blobs.statcache import StatCache, StatKey, Tree, TreeRecord, walk_stats, walk_tree
from ..blobs.walk import STAT_FIELDS, UnsupportedEntry
from ..config import PROJECT_DIR
from ..errors import IntegrityError, NotFoundError, ValidationError
from ..hashing import (
    ManifestEntry,
    hash_bytes,
    hash_file,
    hash_many,
    manifest_rows,
    norm_mode,
    parse_manifest,
    patched_manifest_bytes,
    sorted_manifest_bytes,
)
from ..model import Digest
from . import pointer as ptr
from .progress import Meter
from .settings import DataSettings, load_data_settings

if TYPE_CHECKING:
    from ..blobs.walk import ChildWalk, Rows
    from ..sdk.client import Client

MANIFEST_MEDIA_TYPE = "application/vnd.mlineage.manifest+json"
_SKIP_DIRS = {PROJECT_DIR, ".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "node_modules", ".dvc"}
STATCACHE_FILE = "statcache.db"


@dataclass
class Scan:
    """A tracked path as it is on disk now.

    A directory is kept as columns (its Tree and one 32-byte digest per file), not 10,000 entry objects: most
    scans only need the manifest's digest, which the stat cache often knows without building the manifest.
    """

    path: Path
    kind: str  # "file" or "directory"
    digest: Digest
    size: int
    files: int | None = None
    stat: os.stat_result | None = None  # files only
    tree: Tree | None = None  # directories: paths and stat numbers in manifest order
    digests: bytes = b""  # directories: 32 raw SHA-256 bytes per file, in the tree's order
    previous: TreeRecord | None = None  # directories: what the stat cache knew before this scan
    fresh: list[int] | None = None  # directories: files whose digest did not come from ``previous``
    _manifest: bytes | None = None
    _hexes: list[str] | None = None

    def hexes(self) -> list[str]:
        if self._hexes is None:
            text = self.digests.hex()
            self._hexes = [text[i : i + 64] for i in range(0, len(text), 64)]
        return self._hexes

    def modes(self) -> list[int]:
        assert self.tree is not None
        return [0o755 if x else 0o644 for x in self.tree.stats[4::STAT_FIELDS]]

    @property
    def entries(self) -> list[ManifestEntry] | None:
        """The manifest as entry objects (directories only; built on demand)."""
        if self.tree is None:
            return None
        return [ManifestEntry(p, Digest.sha256(h), size, mode)
                for p, h, size, mode in zip(self.tree.names, self.hexes(), self.tree.sizes(), self.modes())]

    @property
    def manifest(self) -> bytes:
        """The directory's manifest bytes (built on demand; their digest is ``digest``)."""
        if self._manifest is None:
            assert self.tree is not None
            self._manifest = sorted_manifest_bytes(self.tree.names, self.hexes(), self.tree.sizes().tolist(),
                                                   self.modes())
        return self._manifest


@dataclass
class StatusEntry:
    pointer: Path
    data: Path
    state: str  # unchanged | modified | missing | invalid
    detail: str = ""
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def to_dict(self, root: Path) -> dict[str, Any]:
        out: dict[str, Any] = {"path": _rel(self.data, root), "pointer": _rel(self.pointer, root),
                               "state": self.state}
        if self.detail:
            out["detail"] = self.detail
        for key in ("added", "removed", "changed"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out


@dataclass
class AddResult:
    path: Path
    pointer: Path
    digest: Digest
    size: int
    kind: str
    files: int | None
    name: str
    version: int | None
    changed: bool
    stored: int  # objects newly put in the cache


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def walk_files(root: Path) -> list[tuple[str, str, os.stat_result]]:
    """Every regular file under root as (relative posix path, absolute path, lstat); symlinks refused."""
    with _walk_errors():
        return walk_stats(str(root))


def walk_dir(root: Path, started: ChildWalk | Background[Rows] | None = None) -> Tree:
    """Every regular file under root with its stat numbers, in manifest order; symlinks refused.
    ``started``: the same walk already running in the background (its result, or error, is used)."""
    with _walk_errors():
        return walk_tree(str(root)) if started is None else Tree(*started.result())


@contextlib.contextmanager
def _walk_errors() -> Iterator[None]:
    """A walk's errors as the user's: a symlink or special file, an unreadable folder."""
    try:
        yield
    except UnsupportedEntry as exc:
        raise ValidationError("path", f"{exc.path} is a symbolic link or special file, which is not versioned",
                              "replace it with the file it points to, or move it out of the folder") from None
    except PermissionError as exc:
        raise unreadable(exc) from None


def unreadable(exc: PermissionError) -> ValidationError:
    return ValidationError("path", f"{exc.filename} cannot be read (permission denied)",
                           "fix its permissions and try again")


class Workspace:
    def __init__(self, settings: DataSettings | None = None, *, client: Client | None = None,
                 statcache: StatCache | None = None) -> None:
        self.settings = settings or load_data_settings()
        self.root = self.settings.root.resolve()
        self.cache = LocalBlobStore(self.settings.cache_dir)
        self.statcache = statcache or StatCache(self.settings.state_dir / STATCACHE_FILE)
        self._client = client
        self._owns_client = client is None
        self._ledger: Any = None  # a SqliteLedger, once add has opened one
        self._opener: Background[None] | None = None
        self._remote: Any = None

    # ------------------------------------------------------------ plumbing

    @property
    def client(self) -> Client:
        if self._client is None:
            from ..config import load_settings
            from ..sdk.client import Client

            self._client = Client(load_settings(self.root), blobs=self.cache)
        return self._client

    def remote(self, uri: str | None = None) -> Any:
        from .transfer import open_remote

        if uri is not None:
            return open_remote(uri, self.settings.remote_options, self.root)
        if self._remote is None:
            if not self.settings.remote_uri:
                raise NotFoundError("no remote is configured: set [remote] uri in .mlineage/config.toml "
                                    "(a folder or s3://bucket/prefix), or MLINEAGE_REMOTE, or pass --remote")
            self._remote = open_remote(self.settings.remote_uri, self.settings.remote_options, self.root)
        return self._remote

    def close(self) -> None:
        self.statcache.close()
        if self._opener is not None:  # an add that failed early: let the ledger finish opening, then close it
            with contextlib.suppress(BaseException):
                self._opener.result()
            self._opener = None
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def _cache_dev(self) -> int:
        return os.stat(self.cache.root).st_dev

    def digests_of(self, files: Sequence[tuple[str, os.stat_result]], meter: Meter | None = None) -> list[Digest]:
        """Digests of files, from the stat cache where (dev, inode, size, mtime) still match, else hashed."""
        keys = [StatKey.of(st) for _, st in files]
        known = self.statcache.get_many(keys)
        todo = [i for i, d in enumerate(known) if d is None]
        out: list[Digest | None] = [Digest.parse(d) if d else None for d in known]
        if todo:
            hashed = self._hash([files[i][0] for i in todo], [files[i][1].st_size for i in todo], meter)
            for i, digest in zip(todo, hashed):
                out[i] = digest
            self.statcache.put_many((keys[i], str(out[i])) for i in todo)
        return [d for d in out if d is not None]

    def _hash(self, paths: list[str], sizes: list[int], meter: Meter | None) -> list[Digest]:
        def done(_: int, size: int) -> None:
            if meter is not None:
                meter.advance(size, 1)

        try:
            return [d for d, _size in hash_many(paths, sizes, self.settings.jobs, done)]
        except PermissionError as exc:
            raise unreadable(exc) from None
        except FileNotFoundError as exc:
            raise ValidationError("path", f"{exc.filename} disappeared while it was being read",
                                  "run the command again") from None

    def scan(self, path: Path, meter: Meter | None = None, *, tree: Tree | None = None,
             remember: bool = True) -> Scan:
        """Hash a file or directory as it is now (cached digests reused).

        ``tree``: the directory's walk, if the caller has it. ``remember``: save a changed directory's record in
        the stat cache now (``add`` saves it after storing the objects, marked as stored).
        """
        st = os.lstat(path)
        if stat_mod.S_ISREG(st.st_mode):
            if meter is not None:
                meter.add_total(st.st_size, 1)
            (digest,) = self.digests_of([(str(path), st)], meter)
            return Scan(path, "file", digest, st.st_size, stat=st)
        if not stat_mod.S_ISDIR(st.st_mode):
            raise ValidationError("path", f"{path} is not a regular file or directory")
        tree = tree or walk_dir(path)
        key = str(path)
        files = len(tree.names)
        size = sum(tree.sizes())
        if meter is not None:
            meter.add_total(size, files)
        before = self.statcache.get_tree(key)
        if before is not None and before.tree.same_as(tree):  # nothing changed since the last scan
            if meter is not None:
                meter.advance(size, files)
            return Scan(path, "directory", Digest.parse(before.digest), size, files, tree=tree,
                        digests=before.digests, previous=before, fresh=[])
        digests, fresh = self._tree_digests(key, tree, before, meter)
        scan = Scan(path, "directory", Digest.sha256("0" * 64), size, files, tree=tree, digests=digests,
                    previous=before, fresh=fresh)
        if before is not None and before.tree.names == tree.names and len(fresh) * 8 < files:
            scan._manifest = self._patched_manifest(scan, before, fresh)
        scan.digest = hash_bytes(scan.manifest)
        if remember:
            self.statcache.put_tree(key, TreeRecord(tree, scan.digests, str(scan.digest), size))
        return scan

    def _patched_manifest(self, scan: Scan, before: TreeRecord, fresh: list[int]) -> bytes | None:
        """The new manifest as the previous one (from the cache, verified) with the changed files' rows
        replaced: the same paths in the same order, and every other row's digest, size and mode unchanged."""
        try:
            with open(self.cache.path_for(Digest.parse(before.digest)), "rb") as handle:
                old = handle.read()
        except (OSError, ValidationError):
            return None
        if hash_bytes(old) != Digest.parse(before.digest):
            return None
        assert scan.tree is not None
        names, stats, k, raw = scan.tree.names, scan.tree.stats, STAT_FIELDS, scan.digests
        rows = manifest_rows([names[i] for i in fresh], [raw[32 * i : 32 * i + 32].hex() for i in fresh],
                             [stats[k * i + 2] for i in fresh], [0o755 if stats[k * i + 4] else 0o644 for i in fresh])
        return patched_manifest_bytes(old, len(names), dict(zip(fresh, rows)))

    def _tree_digests(self, base: str, tree: Tree, before: TreeRecord | None, meter: Meter | None
                      ) -> tuple[bytes, list[int]]:
        """One 32-byte digest per file of a tree: reused from the last scan where a file's stat numbers are the
        same, else from the stat cache, else hashed. Also returns the indices of the files not reused."""
        n, k = len(tree.names), STAT_FIELDS
        now = tree.stats
        if before is None:
            out = bytearray(32 * n)
            todo = list(range(n))
        else:
            old, old_digests = before.tree.stats, before.digests
            rows_now = zip(*[iter(now)] * k)  # one tuple of stat numbers per file, built in C
            if before.tree.names == tree.names:  # the usual case: the same files, a few of them changed
                out = bytearray(old_digests)
                todo = [i for i, (a, b) in enumerate(zip(rows_now, zip(*[iter(old)] * k))) if a != b]
            else:
                out = bytearray(32 * n)
                todo = []
                old_rows = dict(zip(before.tree.names, zip(zip(*[iter(old)] * k), range(len(before.tree.names)))))
                for i, (name, row) in enumerate(zip(tree.names, rows_now)):
                    hit = old_rows.get(name)
                    if hit is not None and hit[0] == row:
                        out[32 * i : 32 * i + 32] = old_digests[32 * hit[1] : 32 * hit[1] + 32]
                    else:
                        todo.append(i)
        if meter is not None:
            meter.advance(sum(tree.sizes()) - sum(now[i * k + 2] for i in todo), n - len(todo))
        if todo:
            keys = [StatKey(*now[i * k : i * k + 4]) for i in todo]
            hash_now = []
            for i, known in zip(todo, self.statcache.get_many(keys)):
                if known is not None and known.startswith("sha256:"):
                    out[32 * i : 32 * i + 32] = bytes.fromhex(known[7:])
                else:
                    hash_now.append(i)
            if hash_now:
                hashed = self._hash([f"{base}/{tree.names[i]}" for i in hash_now],
                                    [now[i * k + 2] for i in hash_now], meter)
                for i, digest in zip(hash_now, hashed):
                    out[32 * i : 32 * i + 32] = bytes.fromhex(digest.hex)
                self.statcache.put_many((StatKey(*now[i * k : i * k + 4]), str(digest))
                                        for i, digest in zip(hash_now, hashed))
        return bytes(out), todo

    # ------------------------------------------------------------ checking user input

    def _target(self, raw: str | os.PathLike[str], *, must_exist: bool = True) -> Path:
        given = Path(raw)
        absolute = Path(os.path.abspath(given))
        if absolute.name.endswith(ptr.SUFFIX):
            absolute = ptr.data_path(absolute)
        try:
            rel = absolute.relative_to(self.root)
        except ValueError:
            raise ValidationError("path", f"{raw} is outside the project {self.root}",
                                  "move the data into the project, or run the command from its project") from None
        if not rel.parts:
            raise ValidationError("path", f"{raw} is the project folder itself", "add the data folders inside it")
        if rel.parts[0] in (PROJECT_DIR, ".git"):
            raise ValidationError("path", f"{raw} is inside {rel.parts[0]}/, which mlineage manages itself")
        for parent in list(absolute.parents)[: len(rel.parts) - 1]:
            if ptr.pointer_path(parent).exists():
                raise ValidationError("path", f"{raw} is inside the tracked directory {_rel(parent, self.root)}",
                                      f"add {_rel(parent, self.root)} as a whole instead")
        if must_exist and not os.path.lexists(absolute):
            raise ValidationError("path", f"{raw} does not exist", "check the path")
        if must_exist and absolute.is_symlink():
            raise ValidationError("path", f"{raw} is a symbolic link", "add the file or folder it points to")
        return absolute

    def pointers(self, paths: Sequence[str | os.PathLike[str]] | None = None) -> list[Path]:
        """Pointer files for the given paths (a tracked path, its pointer, or a folder to search), or all."""
        if not paths:
            return find_pointers(self.root)
        found: list[Path] = []
        for raw in paths:
            target = self._target(raw, must_exist=False)
            pointer = ptr.pointer_path(target)
            if pointer.is_file():
                found.append(pointer)
            elif target.is_dir():
                found.extend(find_pointers(target))
            else:
                raise ValidationError("path", f"{raw} is not tracked (no {pointer.name} beside it)",
                                      f"run `mlineage add {raw}` first")
        return sorted(set(found))

    # ------------------------------------------------------------ add

    def add(self, paths: Sequence[str | os.PathLike[str]], *, name: str | None = None, kind: str = "dataset",
            metadata: dict[str, Any] | None = None, quiet: bool = False,
            walks: Mapping[str, ChildWalk | Background[Rows]] | None = None) -> list[AddResult]:
        """Hash, store and record paths; write their pointers.

        ``walks``: walks of some of the paths (by absolute path, ``os.path.abspath``) already started in the
        background by the caller (the console script starts them before it imports this module)."""
        if not paths:
            raise ValidationError("path", "no paths given", "name the files or folders to add")
        if name is not None and len(paths) > 1:
            raise ValidationError("name", "given with several paths", "add them one at a time to name them")
        targets = [self._target(p) for p in paths]
        for t in targets:
            if not os.access(t, os.R_OK):
                raise ValidationError("path", f"{t} cannot be read (permission denied)", "fix its permissions")
        if len(set(targets)) != len(targets):
            raise ValidationError("path", "the same path is given twice")
        # Open the ledger on a second thread while this one walks and hashes: imports hold the GIL, stat calls
        # and hashing mostly do not, so on two cores the start-up cost hides behind them.
        self._opener = opener = Background(self._open_ledger, "mlineage-ledger")
        walks = walks or {}
        trees = {t: walk_dir(t, walks.get(str(t))) for t in targets if t.is_dir()}
        for t, tree in trees.items():
            if ptr.SUFFIX + "\0" in "\0".join(tree.names) + "\0":  # the walk saw every file: search only then
                inner = find_pointers(t)
                if inner:
                    raise ValidationError("path", f"{_rel(t, self.root)} contains the tracked path "
                                          f"{_rel(ptr.data_path(inner[0]), self.root)}",
                                          f"track one or the other: remove {_rel(inner[0], self.root)} first")
        # 1. hash everything (changes nothing but the stat cache)
        scans = []
        with Meter("hashing", enabled=None if not quiet else False) as meter:
            for t in targets:
                scans.append(self.scan(t, meter, tree=trees.get(t), remember=False))
        previous = []
        for s in scans:
            pointer = ptr.pointer_path(s.path)
            previous.append(ptr.read(pointer) if pointer.exists() else None)
        # 2. blobs
        stored = [self._store(s) for s in scans]
        # 3. the ledger: one append for every changed path
        from .. import events as ev

        results: list[AddResult] = []
        new_events = []
        for s, old, count in zip(scans, previous, stored):
            label = name or _rel(s.path, self.root)
            changed = old is None or old.digest != s.digest or old.name != label
            results.append(AddResult(s.path, ptr.pointer_path(s.path), s.digest, s.size, s.kind, s.files, label,
                                     old.version if old and not changed else None, changed, count))
            if not changed:
                continue
            meta: dict[str, Any] = dict(metadata or {})
            meta.update({"path": _rel(s.path, self.root), "pointer": _rel(ptr.pointer_path(s.path), self.root)})
            if s.files is not None:
                meta["files"] = s.files
            payload: dict[str, Any] = {"digest": str(s.digest), "kind": kind, "size": s.size, "name": label,
                                       "metadata": meta}
            if s.kind == "directory":
                payload["media_type"] = MANIFEST_MEDIA_TYPE
            new_events.append(ev.NewEvent(ev.ARTIFACT_RECORDED, payload))
        opener.result()
        if new_events:
            self._record(new_events)
            for r in results:
                if r.changed:
                    found = self._ledger.get_artifact(str(r.digest)) if self._ledger is not None else None
                    if found is None or found.name != r.name:  # recorded before under another name
                        found = self.client.artifact(str(r.digest), r.name)
                    r.version = found.version if found.name == r.name else None
        # 4. pointers, then .gitignore
        for s, r in zip(scans, results):
            if r.changed or not r.pointer.exists():
                ptr.write(r.pointer, ptr.Pointer(s.path.name, s.digest, s.size, s.kind, s.files, r.name, r.version),
                          _rel(s.path, self.root))
            ensure_gitignored(s.path)
        return results

    def _open_ledger(self) -> None:
        """Open the lean SQLite ledger when the store is a SQLite file at the current schema; otherwise (an
        injected Client, PostgreSQL, a server, a schema to migrate) ``add`` records through the Client."""
        if self._client is not None or self._ledger is not None:
            return
        from ..config import load_settings
        from ..stores.sqlite_ledger import SqliteLedger, sqlite_path

        path = sqlite_path(load_settings(self.root).store_uri)
        self._ledger = SqliteLedger.open(path) if path else None
        if self._ledger is None:
            _ = self.client
        else:  # what _record needs, loaded here, off the main thread
            from ..capture.basic import actor
            from ..capture.redact import redact_payload  # noqa: F401

            actor()

    def _record(self, new_events: list[Any]) -> None:
        """Append events as ``Client.append`` does: payloads redacted, the actor stamped."""
        if self._ledger is None:
            self.client.append(new_events)
            return
        from ..capture.redact import stamped

        self._ledger.append(stamped(new_events))

    def _store(self, s: Scan) -> int:
        """Put a scanned path's blobs into the cache; returns how many were new."""
        modes = self.settings.link_modes
        count = 0
        if s.kind == "file":
            assert s.stat is not None
            if self.cache.store_file(s.path, s.digest, modes, s.stat) != "present":
                count += 1
            return count
        assert s.tree is not None
        tree = s.tree
        raw = s.digests
        previous = s.previous
        if (previous is not None and previous.stored and s.fresh is not None
                and self.cache.has(Digest.parse(previous.digest))):
            # The last add stored every object of the previous manifest (gc and fsck --repair forget it; the
            # manifest itself is the canary for a cache emptied by hand): only the files not reused from it
            # can name objects the cache lacks.
            candidates: Iterable[int] = reversed(s.fresh)
        else:
            candidates = reversed(range(len(tree.names)))
        unique = {raw[32 * i : 32 * i + 32].hex(): i for i in candidates}  # one file per digest (the first)
        have = self.cache.present_hex(list(unique))
        todo = [(i, h) for h, i in unique.items() if h not in have]
        base = str(s.path)

        def store(items: list[tuple[int, str]]) -> int:
            return sum(self.cache.store_file(Path(f"{base}/{tree.names[i]}"), Digest.sha256(h), modes,
                                             tree.stat_of(i), known_absent=True) != "present" for i, h in items)

        if len(todo) > 512 and self.settings.jobs > 1:
            # link + stat + chmod + rename per file: system calls, which release the GIL
            from concurrent.futures import ThreadPoolExecutor

            step = 256
            with ThreadPoolExecutor(max_workers=self.settings.jobs) as pool:
                count += sum(pool.map(store, [todo[i : i + step] for i in range(0, len(todo), step)]))
        else:
            count += store(todo)
        if not self.cache.has(s.digest):
            self.cache.put_bytes(s.manifest)
            count += 1
        if previous is None or previous.digest != str(s.digest) or not previous.stored:
            self.statcache.put_tree(base, TreeRecord(tree, s.digests, str(s.digest), s.size, stored=True))
        return count

    # ------------------------------------------------------------ status

    def status(self, paths: Sequence[str | os.PathLike[str]] | None = None, *, details: bool = True
               ) -> list[StatusEntry]:
        out = []
        for pointer in self.pointers(paths):
            out.append(self._status_one(pointer, details))
        return out

    def _status_one(self, pointer: Path, details: bool) -> StatusEntry:
        data = ptr.data_path(pointer)
        try:
            p = ptr.read(pointer)
        except ValidationError as exc:
            return StatusEntry(pointer, data, "invalid", str(exc))
        if not os.path.lexists(data):
            return StatusEntry(pointer, data, "missing")
        is_dir = data.is_dir() and not data.is_symlink()
        if is_dir != p.is_dir:
            return StatusEntry(pointer, data, "modified", f"was a {p.kind}, now a {'directory' if is_dir else 'file'}")
        try:
            now = self.scan(data)  # an unchanged directory: one walk, compared with the stat cache's copy
        except ValidationError as exc:
            return StatusEntry(pointer, data, "invalid", str(exc))
        if now.digest == p.digest:
            return StatusEntry(pointer, data, "unchanged")
        entry = StatusEntry(pointer, data, "modified")
        if is_dir and details and self.cache.has(p.digest):
            try:
                old = {e.path: e for e in self.read_manifest(p.digest)}
            except (IntegrityError, ValidationError):
                return entry
            new = {e.path: e for e in now.entries or []}
            entry.added = sorted(set(new) - set(old))
            entry.removed = sorted(set(old) - set(new))
            entry.changed = sorted(k for k in set(old) & set(new)
                                   if (old[k].digest, old[k].mode) != (new[k].digest, new[k].mode))
        return entry

    # ------------------------------------------------------------ reading the cache safely

    def verify_object(self, digest: Digest) -> Path:
        """The cache path of an object whose bytes hash to its name (stat cache first, else re-hashed)."""
        path = self.cache.path_for(digest)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise NotFoundError(f"{digest} is not in the cache") from None
        key = StatKey.of(st)
        if self.statcache.get(key) == str(digest):
            return path
        actual, _ = hash_file(path)
        if actual != digest:
            raise IntegrityError(f"cache object {digest} is corrupted (its bytes hash to {actual}); it was not "
                                 "used. Run `mlineage fsck --repair`, then `mlineage pull` to fetch it again")
        self.statcache.put_many([(key, str(digest))])
        return path

    def read_manifest(self, digest: Digest) -> list[ManifestEntry]:
        path = self.verify_object(digest)
        return parse_manifest(path.read_bytes())

    def ensure_local(self, digests: Iterable[Digest], *, fetch: bool = True, quiet: bool = False) -> None:
        """Make sure every object is in the local cache, downloading the missing ones from the remote."""
        missing = sorted({d for d in digests if not self.cache.has(d)})
        if not missing:
            return
        if not fetch or not self.settings.remote_uri:
            raise NotFoundError(f"{len(missing)} object(s) are not in the local cache (e.g. {missing[0]}) and "
                                "no remote is configured to fetch them from; set [remote] uri and run "
                                "`mlineage pull`")
        from .transfer import download

        download(self, self.remote(), missing, quiet=quiet)

    # ------------------------------------------------------------ checkout

    def checkout(self, paths: Sequence[str | os.PathLike[str]] | None = None, *, force: bool = False,
                 fetch: bool = True, quiet: bool = False) -> list[tuple[StatusEntry, str]]:
        """Make tracked paths match their pointers. Returns (status before, action) per pointer.

        Data that differs from the pointer and is not in the cache would be lost, so it is refused unless
        ``force``; every refusal is found before anything is changed.
        """
        plans: list[tuple[StatusEntry, tuple[ptr.Pointer, list[ManifestEntry] | None] | None]] = []
        for pointer in self.pointers(paths):
            entry = self._status_one(pointer, details=False)
            if entry.state == "invalid":
                raise ValidationError(str(pointer), entry.detail, "fix or restore the pointer file with git")
            if entry.state == "unchanged":
                plans.append((entry, None))
                continue
            p = ptr.read(pointer)
            if p.is_dir:
                self.ensure_local([p.digest], fetch=fetch, quiet=quiet)
                manifest = self.read_manifest(p.digest)
                self.ensure_local([e.digest for e in manifest], fetch=fetch, quiet=quiet)
            else:
                manifest = None
                self.ensure_local([p.digest], fetch=fetch, quiet=quiet)
            if not force:
                self._refuse_data_loss(entry.data, p, manifest)
            plans.append((entry, (p, manifest)))
        out = []
        for entry, plan in plans:
            if plan is None:
                out.append((entry, "unchanged"))
                continue
            p, manifest = plan
            if manifest is None:
                self._place_file(p.digest, entry.data, None)
            else:
                self._place_dir(entry.data, manifest)
            out.append((entry, "restored" if entry.state == "missing" else "updated"))
        return out

    def _unsaved(self, path: Path, st: os.stat_result, wanted: Digest | None) -> bool:
        (digest,) = self.digests_of([(str(path), st)])
        return digest != wanted and not self.cache.has(digest)

    def _refuse_data_loss(self, data: Path, p: ptr.Pointer, manifest: list[ManifestEntry] | None) -> None:
        if not os.path.lexists(data):
            return
        if data.is_file() and not data.is_symlink():
            if self._unsaved(data, os.lstat(data), p.digest if manifest is None else None):
                raise ValidationError("checkout", f"{_rel(data, self.root)} has changes that are not in the cache",
                                      f"`mlineage add {_rel(data, self.root)}` to keep them, or pass --force")
            return
        if data.is_dir() and not data.is_symlink():
            wanted = {e.path: e.digest for e in manifest or []}
            for rel, full, st in walk_files(data):
                if self._unsaved(Path(full), st, wanted.get(rel)):
                    raise ValidationError("checkout", f"{_rel(Path(full), self.root)} has changes that are not in "
                                          "the cache", f"`mlineage add {_rel(data, self.root)}` to keep them, "
                                          "or pass --force")

    def _place_file(self, digest: Digest, target: Path, mode: int | None) -> None:
        source = self.verify_object(digest)
        used = place(source, target, self.settings.link_modes, mode if mode is not None else 0o644,
                     self._cache_dev())
        st = os.stat(target)
        if used in ("copy", "reflink"):
            self.statcache.put_many([(StatKey.of(st), str(digest))])

    def _place_dir(self, data: Path, manifest: list[ManifestEntry]) -> None:
        if os.path.lexists(data) and not data.is_dir():
            os.unlink(data)
        data.mkdir(parents=True, exist_ok=True)
        wanted = {e.path: e for e in manifest}
        current = {rel: (full, st) for rel, full, st in walk_files(data)}
        for rel, (full, _st) in current.items():
            if rel not in wanted:
                os.unlink(full)
        have = self.digests_of([(full, st) for full, st in current.values()])
        have_by_rel = dict(zip(current, have))
        new_rows = []
        for e in manifest:
            target = data / e.path
            old = current.get(e.path)
            if old is not None and have_by_rel[e.path] == e.digest and norm_mode(old[1].st_mode) == e.mode:
                continue
            if target.is_dir():
                import shutil

                shutil.rmtree(target)
            source = self.verify_object(e.digest)
            used = place(source, target, self.settings.link_modes, e.mode, self._cache_dev())
            if used in ("copy", "reflink"):
                new_rows.append((StatKey.of(os.stat(target)), str(e.digest)))
        self.statcache.put_many(new_rows)
        _remove_empty_dirs(data)
        self.scan(data)  # remember the directory as placed, so the next status is quick


def _remove_empty_dirs(root: Path) -> None:
    for folder, dirnames, filenames in os.walk(root, topdown=False):
        if folder != str(root) and not dirnames and not filenames:
            try:
                os.rmdir(folder)
            except OSError:
                pass


def find_pointers(start: Path) -> list[Path]:
    """Pointer files under start, not descending into tracked directories, hidden folders or venvs."""
    found: list[Path] = []
    stack = [start]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except (PermissionError, FileNotFoundError):
            continue
        names = {e.name for e in entries}
        for entry in entries:
            if entry.name.endswith(ptr.SUFFIX) and entry.is_file(follow_symlinks=False):
                found.append(Path(entry.path))
            elif (entry.is_dir(follow_symlinks=False) and entry.name not in _SKIP_DIRS
                  and not entry.name.startswith(".") and entry.name + ptr.SUFFIX not in names):
                stack.append(Path(entry.path))
    return sorted(found)


def ensure_gitignored(data: Path) -> None:
    """Add ``/name`` to the .gitignore beside the data (atomically), once."""
    ignore = data.parent / ".gitignore"
    line = "/" + data.name
    text = ignore.read_text(encoding="utf-8") if ignore.exists() else ""
    if line in text.splitlines():
        return
    if text and not text.endswith("\n"):
        text += "\n"
    write_text_atomically(ignore, text + line + "\n")


def referenced_digests(ws: Workspace, pointers: Sequence[Path] | None = None,
                       on_missing_manifest: Callable[[Digest], None] | None = None) -> set[Digest]:
    """Every object the pointers reach: their digests and, for directories, each manifest's members."""
    out: set[Digest] = set()
    for pointer in pointers if pointers is not None else ws.pointers():
        p = ptr.read(pointer)
        out.add(p.digest)
        if p.is_dir:
            if ws.cache.has(p.digest):
                out.update(e.digest for e in ws.read_manifest(p.digest))
            elif on_missing_manifest is not None:
                on_missing_manifest(p.digest)
    return out
