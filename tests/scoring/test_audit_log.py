"""The audit log: a hash chain plus a head file; every kind of tampering is detected."""

from __future__ import annotations

import json

import pytest

from riskmodels.errors import ReleaseError
from riskmodels.scoring import append_entry, score, verify_audit_log
from riskmodels.scoring._audit_log import head_path


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "audit_log.jsonl"
    for i in range(4):
        append_entry(path, {"purpose": "research_evaluation", "rows_in": 100 + i, "user": "u"})
    return path


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def _write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _tampered(path, match):
    with pytest.raises(ReleaseError, match=match) as info:
        verify_audit_log(path)
    assert info.value.reason == "tampered"


def test_a_clean_log_verifies(log):
    entries = verify_audit_log(log)
    assert [e["seq"] for e in entries] == [0, 1, 2, 3]
    assert [e["rows_in"] for e in entries] == [100, 101, 102, 103]
    assert entries[0]["prev"] == "0" * 64
    assert json.loads(head_path(log).read_text())["count"] == 4


def test_an_edit_after_a_verification_is_still_detected(log):
    # a verified prefix is remembered in-process by its bytes' digest: a later edit of
    # those bytes must send the whole log through the entry-by-entry check again
    entries = verify_audit_log(log)
    entries[0]["rows_in"] = -1  # the caller's copy; the remembered entries are unchanged
    append_entry(log, {"purpose": "research_evaluation", "rows_in": 104, "user": "u"})
    assert [e["rows_in"] for e in verify_audit_log(log)] == [100, 101, 102, 103, 104]
    lines = _lines(log)
    lines[0] = lines[0].replace('"rows_in":100', '"rows_in":999')
    _write(log, lines)
    _tampered(log, "line 1: entry was edited")
    _write(log, lines[:-1])  # truncated below the verified length
    _tampered(log, "line 1: entry was edited")


def test_an_edited_entry_is_detected(log):
    lines = _lines(log)
    lines[1] = lines[1].replace('"rows_in":101', '"rows_in":1')
    _write(log, lines)
    _tampered(log, "line 2: entry was edited")


def test_an_edited_entry_with_a_recomputed_hash_breaks_the_chain(log):
    import hashlib

    lines = _lines(log)
    entry = json.loads(lines[1])
    entry["rows_in"] = 1
    body = {k: v for k, v in entry.items() if k != "entry_sha256"}
    entry["entry_sha256"] = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    lines[1] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    _write(log, lines)
    _tampered(log, "line 3: does not follow the previous entry")


def test_an_edited_last_entry_is_detected(log):
    lines = _lines(log)
    lines[-1] = lines[-1].replace('"user":"u"', '"user":"x"')
    _write(log, lines)
    _tampered(log, "line 4")


def test_a_removed_entry_is_detected(log):
    lines = _lines(log)
    _write(log, lines[:1] + lines[2:])
    _tampered(log, "sequence number 2, expected 1")


def test_a_removed_last_entry_is_detected_by_the_head_file(log):
    _write(log, _lines(log)[:-1])
    _tampered(log, "3 entries but its head file records 4")


def test_reordered_entries_are_detected(log):
    lines = _lines(log)
    lines[1], lines[2] = lines[2], lines[1]
    _write(log, lines)
    _tampered(log, "does not follow the previous entry")


def test_an_inserted_entry_is_detected(log):
    lines = _lines(log)
    _write(log, [*lines[:2], lines[1], *lines[2:]])
    _tampered(log, "expected 2")


def test_a_missing_head_file_or_torn_line_is_detected(log):
    head_path(log).unlink()
    _tampered(log, "head file")
    append_entry(log.with_name("other.jsonl"), {"x": 1})
    other = log.with_name("other.jsonl")
    other.write_bytes(other.read_bytes()[:-5])
    _tampered(other, "not a JSON object")


def test_a_tampered_log_is_not_extended(log):
    _write(log, _lines(log)[:-1])
    before = log.read_bytes()
    with pytest.raises(ReleaseError):
        append_entry(log, {"x": 1})
    assert log.read_bytes() == before


def test_scoring_refuses_to_extend_a_tampered_log(bundle, people, tmp_path):
    log = tmp_path / "audit_log.jsonl"
    for _ in range(2):
        score(bundle, people, purpose="research_evaluation", explain="none", audit_log=log)
    lines = _lines(log)
    _write(log, lines[1:])
    with pytest.raises(ReleaseError) as info:
        score(bundle, people, purpose="research_evaluation", explain="none", audit_log=log)
    assert info.value.reason == "tampered"
    assert _lines(log) == lines[1:]
    # the refusal itself could not be logged either: the error says so
    assert any("could not be written to the audit log" in n for n in info.value.__notes__)


def test_the_default_log_is_the_sites_and_anchor_gives_its_head(bundle, people, site):
    from riskmodels.scoring import anchor, default_audit_log

    score(bundle, people, purpose="research_evaluation", explain="none")
    a = anchor(site.audit_log)  # $RISKMODELS_AUDIT_LOG, set for the test session
    assert a["entries"] >= 1 and len(a["head"]) == 64
    assert default_audit_log().name == "audit_log.jsonl"
    assert (
        ".local/share/riskmodels" in default_audit_log().as_posix()
        or "XDG_DATA_HOME" in __import__("os").environ
    )
