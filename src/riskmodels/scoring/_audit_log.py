"""The scoring audit log: append-only JSON lines, each entry chained to the previous one.

The log is the scoring *site's*, not the release's: it lives outside every bundle, so
scoring needs no write access to a release, and one log records every release used at
the site. Where it is: the ``audit_log=`` argument, else the file named by
``RISKMODELS_AUDIT_LOG``, else :func:`default_audit_log`
(``~/.local/share/riskmodels/audit_log.jsonl``, or under ``$XDG_DATA_HOME``).

Every scoring run appends one entry, and so does every refused attempt (who, when,
purpose, why, nothing scored). Each entry carries ``seq`` (0, 1, 2, ...), ``prev``
(the sha256 of the previous entry's line, or 64 zeros for the first) and ``entry_sha256``
(the sha256 of its own content without that field). A sidecar file
``<log>.head.json`` holds the number of entries and the sha256 of the last line.

What this detects, and what it cannot
-------------------------------------
- An edited entry: its ``entry_sha256`` no longer matches, and the next entry's ``prev``
  does not either.
- An inserted, removed or reordered entry: ``seq`` is not consecutive and ``prev`` breaks.
- A removed *last* entry leaves a valid chain; only the sidecar's count and head hash
  reveal it.
- Someone with write access to both the log and the sidecar can rewrite the whole chain
  consistently: a hash chain without a key proves integrity against accidents and
  careless edits, not against a determined insider. Copy the head hash (``verify_audit_log``
  returns it) somewhere they cannot write (a ticket, an e-mail, a monitoring system) to
  close that gap.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskmodels._io import atomic_write_bytes, atomic_write_text
from riskmodels.errors import ReleaseError

__all__ = [
    "AUDIT_LOG_ENV",
    "GENESIS",
    "anchor",
    "append_entry",
    "default_audit_log",
    "head_path",
    "resolve_audit_log",
    "verify_audit_log",
]

#: Environment variable naming the site's audit log when none is passed explicitly.
AUDIT_LOG_ENV = "RISKMODELS_AUDIT_LOG"

#: ``prev`` of the first entry.
GENESIS = "0" * 64


def default_audit_log() -> Path:
    """The per-user audit log used when neither an argument nor the environment names one:
    ``$XDG_DATA_HOME/riskmodels/audit_log.jsonl``, by default
    ``~/.local/share/riskmodels/audit_log.jsonl``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "riskmodels" / "audit_log.jsonl"


def resolve_audit_log(audit_log: str | os.PathLike[str] | None) -> Path:
    """The audit log to use: the argument, else ``$RISKMODELS_AUDIT_LOG``, else the default."""
    if audit_log is not None:
        return Path(audit_log)
    env = os.environ.get(AUDIT_LOG_ENV)
    return Path(env) if env else default_audit_log()


def anchor(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Verify the log and return its anchor: ``{"log", "entries", "head"}``.

    Store the head hash somewhere the log's writers cannot change (a ticket, an e-mail,
    a monitoring system). Later, :func:`verify_audit_log` plus a check that the stored
    head is the hash of entry ``entries - 1``'s line detects even a consistent rewrite
    of everything up to that point.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> log = pathlib.Path(tempfile.mkdtemp()) / "audit_log.jsonl"
    >>> _ = append_entry(log, {"purpose": "research_evaluation"})
    >>> a = anchor(log)
    >>> a["entries"], len(a["head"])
    (1, 64)
    """
    log = Path(path)
    entries = verify_audit_log(log)
    lines, _ = _read(log)
    return {
        "log": str(log.resolve()),
        "entries": len(entries),
        "head": _line_hash(lines[-1]) if lines else GENESIS,
    }


def head_path(log: str | os.PathLike[str]) -> Path:
    """The sidecar holding the entry count and head hash of ``log``."""
    log = Path(log)
    return log.with_name(log.name + ".head.json")


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


@contextlib.contextmanager
def _locked(log: Path) -> Iterator[None]:
    """An exclusive advisory lock so that two scoring runs cannot fork the chain."""
    lock = log.with_name(log.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as fh:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; runs must not overlap
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _chain(
    lines: list[bytes], first: int, prev: str
) -> tuple[list[str], list[dict[str, Any]], str]:
    """Check ``lines`` as entries ``first, first + 1, ...`` following the line hash
    ``prev``; return the problems, the entries and the last line's hash."""
    problems: list[str] = []
    entries: list[dict[str, Any]] = []
    for i, line in enumerate(lines, start=first):
        where = f"line {i + 1}"
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except ValueError:
            problems.append(f"{where}: not a JSON object")
            prev = _line_hash(line)
            continue
        body = {k: v for k, v in entry.items() if k != "entry_sha256"}
        if entry.get("entry_sha256") != hashlib.sha256(_canonical(body)).hexdigest():
            problems.append(f"{where}: entry was edited (its content does not match its hash)")
        if entry.get("seq") != i:
            problems.append(
                f"{where}: sequence number {entry.get('seq')!r}, expected {i} "
                "(an entry was inserted, removed or moved)"
            )
        if entry.get("prev") != prev:
            problems.append(
                f"{where}: does not follow the previous entry (an entry before it was edited, "
                "inserted, removed or moved)"
            )
        entries.append(entry)
        prev = _line_hash(line)
    return problems, entries, prev


def _head_problems(count: int, last: str, head: dict[str, Any] | None, head_name: str) -> list[str]:
    if head is not None:
        if head.get("count") != count:
            return [
                f"the log has {count} entries but its head file records "
                f"{head.get('count')!r} (entries were removed or appended outside riskmodels)"
            ]
        if head.get("head") != last:
            return ["the last entry does not match the head file (it was edited)"]
    elif count:
        return [f"the head file {head_name} is missing (the log cannot be checked)"]
    return []


def _split(data: bytes) -> list[bytes]:
    if data and not data.endswith(b"\n"):
        return data.split(b"\n")  # a torn final line is reported as not JSON
    return data.split(b"\n")[:-1] if data else []


def _read_head(log: Path) -> dict[str, Any] | None:
    hp = head_path(log)
    if not hp.exists():
        return None
    try:
        return json.loads(hp.read_text(encoding="utf-8"))
    except ValueError:
        return {"count": None, "head": None}


def _read(log: Path) -> tuple[list[bytes], dict[str, Any] | None]:
    data = log.read_bytes() if log.exists() else b""
    return _split(data), _read_head(log)


@dataclass(frozen=True)
class _Verified:
    """A prefix of a log already checked in this process: its length in bytes, the sha256
    of those bytes, its entries and its last line's hash."""

    size: int
    digest: bytes
    entries: tuple[dict[str, Any], ...]
    last: str


# Scoring verifies the site's log on every run (suspensions are read from it) and the log
# grows for years; parsing and hashing every entry each time costs ~30 ms per 1,000
# entries. Remembering the verified prefix by its bytes' digest keeps the check complete
# (any edit to those bytes changes the digest, and the prefix is parsed again) for the
# cost of one sha256 over the file, ~20x cheaper than the entry-by-entry check.
_VERIFIED: dict[str, _Verified] = {}


def _verify(log: Path) -> tuple[list[dict[str, Any]], list[bytes]]:
    """The entries of ``log`` and its new (not previously verified) lines, or
    ReleaseError ``"tampered"``."""
    data = log.read_bytes()
    key = str(log.resolve())
    known = _VERIFIED.get(key)
    if (
        known is not None
        and len(data) >= known.size
        and hashlib.sha256(data[: known.size]).digest() == known.digest
    ):
        done, prev, tail = list(known.entries), known.last, data[known.size :]
    else:
        done, prev, tail = [], GENESIS, data
    lines = _split(tail)
    problems, entries, last = _chain(lines, len(done), prev)
    count = len(done) + len(lines)
    problems += _head_problems(count, last, _read_head(log), head_path(log).name)
    if problems:
        _VERIFIED.pop(key, None)
        raise ReleaseError(
            f"The audit log {log} has been tampered with or damaged:\n"
            + "\n".join(f"  - {p}" for p in problems),
            reason="tampered",
            path=str(log),
        )
    entries = done + entries
    _VERIFIED[key] = _Verified(len(data), hashlib.sha256(data).digest(), tuple(entries), last)
    return entries, lines


def verify_audit_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Check an audit log's hash chain and head file; return its entries.

    Parameters
    ----------
    path : path
        The ``audit_log.jsonl`` file (its head file ``audit_log.jsonl.head.json`` sits
        next to it).

    Returns
    -------
    list of dict
        The entries, oldest first. The last entry's line hash is the head recorded in the
        head file: copy it somewhere the log's writers cannot change to make a rewrite of
        the whole log detectable (see the module notes).

    Raises
    ------
    ReleaseError
        ``reason="tampered"``, listing every problem: an edited, inserted, removed or
        reordered entry, a removed last entry (via the head file), a missing head file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> log = pathlib.Path(tempfile.mkdtemp()) / "audit_log.jsonl"
    >>> _ = append_entry(log, {"purpose": "research_evaluation", "rows_in": 10})
    >>> _ = append_entry(log, {"purpose": "research_evaluation", "rows_in": 12})
    >>> [e["seq"] for e in verify_audit_log(log)]
    [0, 1]
    >>> lines = log.read_text().splitlines()
    >>> _ = log.write_text(lines[1] + "\\n" + lines[0] + "\\n")
    >>> verify_audit_log(log)
    Traceback (most recent call last):
    ...
    riskmodels.errors.ReleaseError: The audit log ... has been tampered with ...
    """
    log = Path(path)
    if not log.exists():
        raise ReleaseError(f"Audit log {log} does not exist", reason="unreadable", path=str(log))
    entries, _ = _verify(log)
    # copies: the verified entries are remembered for the next call
    return [dict(e) for e in entries]


def append_entry(path: str | os.PathLike[str], record: dict[str, Any]) -> dict[str, Any]:
    """Verify the log, then append ``record`` as the next chained entry (atomically).

    The whole file is rewritten through a temp file and renamed, so a crash leaves the
    previous log intact; the head file is updated after it. A log that fails verification
    is not extended (ReleaseError ``"tampered"``): a broken chain must be investigated,
    not buried under new entries.

    Returns
    -------
    dict
        The entry as written (with ``seq``, ``prev`` and ``entry_sha256``).
    """
    log = Path(path)
    with _locked(log):
        if log.exists():
            entries, _ = _verify(log)
        elif head_path(log).exists():
            _missing_log(log)
        else:
            entries = []
        old = log.read_bytes() if log.exists() else b""
        lines = _split(old)
        prev = _line_hash(lines[-1]) if lines else GENESIS
        entry = {k: v for k, v in record.items() if k not in ("seq", "prev", "entry_sha256")}
        entry.update(seq=len(lines), prev=prev)
        entry["entry_sha256"] = hashlib.sha256(_canonical(entry)).hexdigest()
        line = _canonical(entry)
        data = old + line + b"\n"
        atomic_write_bytes(log, data)
        atomic_write_text(
            head_path(log),
            json.dumps({"count": len(lines) + 1, "head": _line_hash(line)}),
        )
        # what was just written is verified by construction
        _VERIFIED[str(log.resolve())] = _Verified(
            len(data), hashlib.sha256(data).digest(), (*entries, entry), _line_hash(line)
        )
    return entry


def _missing_log(log: Path) -> None:
    raise ReleaseError(
        f"The audit log {log} is missing but its head file exists: the log was removed",
        reason="tampered",
        path=str(log),
    )
