"""Reading a journal file back (untrusted input, checked line by line and replayed into a Journal), and
compacting it once it grows large.

A torn last line (no newline: a power cut while it was written) is cut off so the next record starts on
a line of its own. Lines that fail their checksum or schema are *damage*: the file is set aside as
``journal.jsonl.damaged`` and rewritten with its valid lines. Records that are well formed but cannot
apply (an unknown action, an op index out of range, a path leaving the project) are refused and
counted. A version-1 journal (plain JSON lines) is converted. A read-only journal repairs nothing on
disk: it only reads.
"""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from imgclf_gui.core.project import journal_records as records
from imgclf_gui.core.project.journal_records import RecordError
from imgclf_gui.core.project.moves import Op
from imgclf_gui.core.support.safe_files import DamagedFile, atomic_write_bytes, read_state_bytes, set_aside

if TYPE_CHECKING:
    from imgclf_gui.core.project.journal import Journal

_WHAT = "the move history"
KEEP_UNDO = 200  # undoable actions kept when the journal is compacted
COMPACT_BYTES = 4 << 20


def load(journal: Journal) -> None:
    """Fill ``journal``'s actions and stacks from its file, repairing the file when writable."""
    writable = not journal.read_only
    try:
        data = read_state_bytes(journal.path)
    except FileNotFoundError:
        return
    except DamagedFile as exc:
        if writable:
            journal.recovered.append(str(set_aside(journal.path, _WHAT, str(exc), "a new one was started",
                                                   root=journal.root)))
        return
    except OSError as exc:
        journal.recovered.append(f"The move history cannot be read ({exc.strerror or exc}); undo starts afresh.")
        if writable:
            journal.read_only = True
            journal.read_only_reason = "The project's move history cannot be read, so nothing can be moved here."
        return
    if not data:
        return
    if data.startswith(b"{"):
        good, bad, first_problem = _parse_v1(data)
        rewrite = True
    else:
        good, bad, first_problem, complete = _parse_framed(data)
        rewrite = bool(bad)
        if writable and not bad and complete < len(data):
            os.truncate(journal.path, complete)  # the torn tail: the next record must start a line
    if writable and rewrite:
        if bad:
            consequence = f"its {len(good)} readable records were kept (undo may not reach back past the damage)"
            journal.recovered.append(str(set_aside(journal.path, _WHAT, f"{bad} line(s) {first_problem}", consequence,
                                                   root=journal.root)))
        lines = [records.frame(records.HEADER)] + [records.frame(r) for r in good]
        atomic_write_bytes(journal.path, b"".join(lines))
    refused: list[str] = []
    key = journal.key() if any(records.names_outside(r) for r in good) else None
    for record in good:
        problem = _replay(journal, record, key)
        if problem is not None:
            refused.append(problem)
    if refused:
        journal.recovered.append(f"{len(refused)} record(s) of the move history were refused ({refused[0]}) "
                                 "and ignored; no file was touched because of them.")


def _parse_framed(data: bytes) -> tuple[list[dict[str, Any]], int, str, int]:
    """(valid records, number of bad lines, the first bad line's problem, bytes of complete lines)."""
    complete = data.rfind(b"\n") + 1
    good: list[dict[str, Any]] = []
    bad, first = 0, ""
    for n, line in enumerate(data[:complete].split(b"\n")[:-1]):
        if not line:
            continue
        try:
            record = records.check(records.unframe(line))
        except RecordError as exc:
            bad += 1
            first = first or str(exc)
            continue
        if record["t"] == "imgclf-journal":
            if n != 0 or record["v"] > records.VERSION:
                bad += 1
                first = first or "a header in the wrong place or of a newer version"
            continue
        good.append(record)
    return good, bad, first, complete


def _parse_v1(data: bytes) -> tuple[list[dict[str, Any]], int, str]:
    lines = data.split(b"\n")
    if lines and lines[-1]:
        lines = lines[:-1]  # a torn last line
    good: list[dict[str, Any]] = []
    bad, first = 0, ""
    for line in lines:
        if not line.strip():
            continue
        try:
            good.append(records.migrate_v1(json.loads(line.decode("utf-8"))))
        except (UnicodeDecodeError, ValueError, RecursionError, RecordError) as exc:
            bad += 1
            first = first or (str(exc) if isinstance(exc, RecordError) else "are not valid JSON")
    return good, bad, first


def _replay(journal: Journal, record: dict[str, Any], key: bytes | None) -> str | None:
    """Apply one valid record; the reason when it is refused."""
    from imgclf_gui.core.project.journal import Action

    kind = record["t"]
    codec = journal.codec
    if kind == "begin":
        if record["id"] in journal.actions:
            return "an action id used twice"
        try:
            ops = [Op(k, codec.decode(src), codec.decode(dst), size, digest)  # type: ignore[arg-type]
                   for k, src, dst, size, digest in record["ops"]]
        except RecordError as exc:
            return str(exc)
        trusted = not records.names_outside(record) or records.signed(record, key)
        action = Action(record["id"], record["kind"], record["of"], record["label"], ops, trusted=trusted)
        journal.actions[action.id] = action
        journal.order.append(action.id)
        return None
    action = journal.actions.get(record["id"])
    if action is None:
        return "a record of an unknown action"
    if action.ended:
        return "a record after its action ended"
    n = len(action.planned)
    if kind == "end":
        action.ended, action.status = True, record["status"]
        journal.apply_to_stacks(action)
        return None
    if kind == "ids":
        at, ids = record["at"], record["ids"]
        if at + len(ids) > n:
            return "identities of operations that do not exist"
        for k, ident in enumerate(ids):
            op = action.planned[at + k]
            if ident is not None and op.kind in ("move", "copy"):
                action.planned[at + k] = op.with_identity((ident[0], ident[1]))
            action.identified.add(at + k)
        return None
    i = record["i"]
    if i >= n:
        return "a record of an operation that does not exist"
    planned = action.planned[i]
    if kind == "fail":
        action.errors[i] = record["error"]
        return None
    if kind == "staged":
        action.staged[i] = (record["dev"], record["ino"])
        return None
    try:
        dst = codec.decode(record["dst"])
    except RecordError as exc:
        return str(exc)
    assert dst is not None
    if records.names_outside(record) and not records.signed(record, key):
        action.trusted = False
    if kind == "to":
        action.retarget[i] = dst
    else:  # "op": done
        action.done[i] = Op(planned.kind, planned.src, dst, planned.size, planned.sha256)
    return None


def compact_if_large(journal: Journal) -> None:
    """Rewrite the journal with only the actions the stacks still need, once it grows large."""
    try:
        if journal.path.stat().st_size < COMPACT_BYTES:
            return
    except OSError:
        return
    lines = [records.frame(records.HEADER)]
    # Undoable actions as "do", then undone ones as "undo" of nothing: replay rebuilds both stacks in order.
    for kind, stack in (("do", journal.undo_stack[-KEEP_UNDO:]), ("undo", journal.redo_stack)):
        for action_id in stack:
            action = journal.actions[action_id]
            lines += _rewritten(journal, action, kind)
    journal.close_file()
    try:
        atomic_write_bytes(journal.path, b"".join(lines))
    except OSError:
        return
    journal.actions, journal.order, journal.undo_stack, journal.redo_stack = {}, [], [], []
    load(journal)


def _rewritten(journal: Journal, action: Any, kind: str) -> list[bytes]:
    realised = action.realised
    rewritten = [{"t": "begin", "id": action.id, "kind": kind, "of": None, "label": action.label, "time": 0.0,
                  "ops": [journal.op_json(op) for op in realised]},
                 {"t": "ids", "id": action.id, "at": 0,
                  "ids": [list(op.identity) if op.identity else None for op in realised]}]
    rewritten += [{"t": "op", "id": action.id, "i": i, "dst": journal.codec.encode(op.dst)}
                  for i, op in enumerate(realised)]
    rewritten.append({"t": "end", "id": action.id, "status": "done"})
    lines = []
    for record in rewritten:
        if action.trusted and records.names_outside(record):
            record = records.sign(record, journal.key())
        lines.append(records.frame(record))
    return lines
