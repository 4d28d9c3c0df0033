"""The journal's lines: framing, a strict schema per record, project-relative paths, and signatures.

Each line is ``CRC32 JSON\\n`` (8 hex digits, a space, one JSON object): a line torn by a power cut or
changed by hand fails its CRC and is never read as data. The first line says what the file is::

    6f1a02c4 {"t":"imgclf-journal","v":2}
    ........ {"t":"begin","id":"lq3x9c-1f2e3a","kind":"do","of":null,"label":"send 3 images to cat",
              "time":1700000000.0,"ops":[["move","unsorted/a.jpg","cat/a.jpg",5120,"<sha256>"], ...]}
    ........ {"t":"ids","id":...,"at":0,"ids":[[5120,"<sha256>"], ...]}   identities of ops at, at+1, ...
    ........ {"t":"to","id":...,"i":0,"dst":"cat/a (2).jpg"}            op i goes to another free name
    ........ {"t":"staged","id":...,"i":0,"dev":2049,"ino":123}          op i's copy is complete beside dst
    ........ {"t":"op","id":...,"i":0,"dst":"cat/a.jpg"}                 op i done
    ........ {"t":"fail","id":...,"i":1,"error":"a.jpg no longer exists."}
    ........ {"t":"end","id":...,"status":"done"}                        done | cancelled | failed | interrupted

An op is ``[kind, src, dst, size, sha256]`` (size and hash of the file it moves or copies; null for
folders and not yet known ones). Paths are relative to the project with ``/``. A path outside the project
(an imported file's origin) is absolute and only trusted when the record carries a ``mac``: an HMAC
made with a key kept in the user's config folder, so a journal written by someone else can never make
imgclf touch a file outside the project. Version-1 journals (plain JSON lines, integer ids) are read
by :func:`migrate_v1` and rewritten in this format.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import time
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from imgclf_gui.core.project import layout

VERSION = 2
HEADER = {"t": "imgclf-journal", "v": VERSION}
KINDS = ("do", "undo", "redo")
OP_KINDS = ("move", "copy", "mkdir", "rmdir")
END_STATUSES = ("done", "cancelled", "failed", "interrupted")
_ID = re.compile(r"^[0-9a-z][0-9a-z-]{0,63}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MAX_LABEL = 500
_MAX_ERROR = 2000
_MAX_PATH = 8192
_KEY_FILE = "journal.key"  # in the user's config folder, not in the project
# Inside .imgclf/ the journal may only ever name these folders.
_STATE_FOLDERS_ALLOWED = (layout.TRASH, layout.QUARANTINE)


class RecordError(Exception):
    """A line or record that is not a valid journal record; ``str()`` says why in a few words."""


# ----------------------------------------------------------------------------------------- framing
def frame(record: dict[str, Any]) -> bytes:
    """One journal line for ``record``: CRC32, a space, compact JSON, a newline."""
    try:
        body = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a file name that is not valid UTF-8: escaped, still exact
        body = json.dumps(record, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return b"%08x " % zlib.crc32(body) + body + b"\n"


def unframe(line: bytes) -> dict[str, Any]:
    """The record of one framed line (without its newline); raises :class:`RecordError`."""
    if len(line) < 11 or line[8:9] != b" ":
        raise RecordError("not a framed line")
    try:
        crc = int(line[:8], 16)
    except ValueError:
        raise RecordError("not a framed line") from None
    body = line[9:]
    if zlib.crc32(body) != crc:
        raise RecordError("its checksum does not match")
    try:
        record = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RecordError("not valid JSON") from None
    if not isinstance(record, dict):
        raise RecordError("not a JSON object")
    return record


def new_action_id() -> str:
    """A fresh action id, unique also across two processes writing one journal (time + randomness)."""
    return f"{_base36(time.time_ns() // 1000)}-{secrets.token_hex(4)}"


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


# ------------------------------------------------------------------------------------------ schema
def _is_int(value: Any, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


def _is_path(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _MAX_PATH and "\x00" not in value


def _is_text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and len(value) <= limit


def _valid_op(op: Any) -> bool:
    if not (isinstance(op, list) and len(op) == 5 and op[0] in OP_KINDS):
        return False
    kind, src, dst, size, digest = op
    if not _is_path(dst):
        return False
    if kind in ("mkdir", "rmdir"):
        return src is None and size is None and digest is None
    return _is_path(src) and _valid_identity(size, digest)


def _valid_identity(size: Any, digest: Any) -> bool:
    return (size is None and digest is None) or (
        _is_int(size) and isinstance(digest, str) and bool(_HEX64.match(digest)))


_FIELDS: dict[str, dict[str, Any]] = {
    "imgclf-journal": {"v": lambda v: _is_int(v, 1)},
    "begin": {"id": _is_id, "kind": lambda v: v in KINDS, "of": lambda v: v is None or _is_id(v),
              "label": lambda v: _is_text(v, _MAX_LABEL), "time": lambda v: isinstance(v, (int, float)),
              "ops": lambda v: isinstance(v, list) and all(_valid_op(o) for o in v)},
    "ids": {"id": _is_id, "at": _is_int,
            "ids": lambda v: isinstance(v, list) and all(
                x is None or (isinstance(x, list) and len(x) == 2 and _valid_identity(*x) and x[0] is not None)
                for x in v)},
    "to": {"id": _is_id, "i": _is_int, "dst": _is_path},
    "staged": {"id": _is_id, "i": _is_int, "dev": _is_int, "ino": _is_int},
    "op": {"id": _is_id, "i": _is_int, "dst": _is_path},
    "fail": {"id": _is_id, "i": _is_int, "error": lambda v: _is_text(v, _MAX_ERROR)},
    "end": {"id": _is_id, "status": lambda v: v in END_STATUSES},
}
_OPTIONAL = {"mac"}


def check(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` itself when it has exactly the fields of its type, each of the right shape."""
    fields = _FIELDS.get(record.get("t"))  # type: ignore[arg-type]
    if fields is None:
        raise RecordError("unknown record type")
    extra = set(record) - set(fields) - {"t"} - _OPTIONAL
    if extra:
        raise RecordError(f"unexpected field {sorted(extra)[0]!r}")
    for name, ok in fields.items():
        if name not in record or not ok(record[name]):
            raise RecordError(f"field {name!r} missing or of the wrong type")
    if "mac" in record and not (isinstance(record["mac"], str) and _HEX64.match(record["mac"])):
        raise RecordError("field 'mac' of the wrong type")
    return record


# ------------------------------------------------------------------------------------------- paths
class PathCodec:
    """Paths of one project as the journal stores them, and whether a stored path may be used."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = Path(os.path.realpath(root))

    def encode(self, path: Path | None) -> str | None:
        if path is None:
            return None
        absolute = Path(os.path.abspath(path))
        try:
            return absolute.relative_to(self.root).as_posix()
        except ValueError:
            return str(absolute)

    def decode(self, text: str | None) -> Path | None:
        """The absolute path of a stored one; raises :class:`RecordError` for a path that tries to
        leave the project by ``..``, names imgclf's own state, or is not a path at all."""
        if text is None:
            return None
        if os.path.isabs(text):
            return Path(os.path.normpath(text))
        parts = PurePosixPath(text).parts
        if not parts or any(p in ("..", ".", "") for p in parts) or "\\" in text:
            raise RecordError("a path that leaves the project")
        if parts[0] == layout.STATE_DIR_NAME and (len(parts) < 3 or parts[1] not in _STATE_FOLDERS_ALLOWED):
            raise RecordError("a path inside imgclf's own state")
        return self.root.joinpath(*parts)

    def is_outside(self, text: str | None) -> bool:
        return text is not None and os.path.isabs(text)

    def inside(self, path: Path) -> bool:
        """True when ``path`` (the entry itself, its folder's links resolved) lies inside the project."""
        if path.name in ("", ".", ".."):
            return False
        parent = Path(os.path.realpath(path.parent))
        return parent == self.real_root or self.real_root in parent.parents


# ---------------------------------------------------------------------------------------- signing
def user_key() -> bytes | None:
    """This user's journal key (made on first use); None when the config folder cannot be used."""
    from imgclf_gui.core.support.paths import user_config_dir

    try:
        path = user_config_dir() / _KEY_FILE
        if not path.exists():
            _make_key(path)
        data = path.read_bytes()
    except OSError:
        return None
    return data if len(data) == 32 else None


def _make_key(path: Path) -> None:
    # Written whole to a private temp file, then linked into place: a crash never leaves a short key,
    # and two processes starting at once end up with the same one.
    tmp = path.with_name(f".{_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:  # no hard links here (some network drives): a plain rename
            if not path.exists():
                os.replace(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def names_outside(record: dict[str, Any]) -> bool:
    """True when the record names a path outside the project (an absolute one)."""
    if record.get("t") == "begin":
        return any(isinstance(p, str) and os.path.isabs(p) for op in record["ops"] for p in op[1:3])
    return isinstance(record.get("dst"), str) and os.path.isabs(record["dst"])


def sign(record: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """``record`` with a ``mac`` made with ``key`` (unchanged without a key, hence untrusted later)."""
    if key is None:
        return record
    body = {k: v for k, v in record.items() if k != "mac"}
    return {**body, "mac": _mac(key, body)}


def signed(record: dict[str, Any], key: bytes | None) -> bool:
    """True when ``record`` carries a valid ``mac`` made with ``key``."""
    mac = record.get("mac")
    if not isinstance(mac, str) or key is None:
        return False
    return hmac.compare_digest(mac, _mac(key, {k: v for k, v in record.items() if k != "mac"}))


def _mac(key: bytes, body: dict[str, Any]) -> str:
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return hmac.new(key, data, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------------------- migration
def migrate_v1(record: Any) -> dict[str, Any]:
    """A version-1 record (plain JSON, integer ids, ops without identity) as a version-2 one.

    Absolute paths of version 1 stay unsigned, hence untrusted: only their copies inside the project
    can still be undone."""
    if not isinstance(record, dict):
        raise RecordError("not a JSON object")
    kind = record.get("t")

    def ident(value: Any) -> str:
        if not _is_int(value):
            raise RecordError("field 'id' missing or of the wrong type")
        return f"v1-{value}"

    if kind == "begin":
        ops = record.get("ops")
        if not isinstance(ops, list) or not all(isinstance(o, list) and len(o) == 3 for o in ops):
            raise RecordError("field 'ops' missing or of the wrong type")
        of = record.get("of")
        out = {"t": "begin", "id": ident(record.get("id")), "kind": record.get("kind"),
               "of": None if of is None else ident(of), "label": record.get("label"),
               "time": record.get("time", 0.0), "ops": [[*o, None, None] for o in ops]}
    elif kind == "op" and "dst" in record:
        out = {"t": "op", "id": ident(record.get("id")), "i": record.get("i"), "dst": record.get("dst")}
    elif kind == "op":
        out = {"t": "fail", "id": ident(record.get("id")), "i": record.get("i"),
               "error": str(record.get("error", ""))[:_MAX_ERROR]}
    elif kind == "end":
        out = {"t": "end", "id": ident(record.get("id")), "status": "done"}
    else:
        raise RecordError("unknown record type")
    return check(out)
