"""A scripted attack battery: an attacker who can write to a release bundle (but holds no
approver's key) tries every file and every field. Every attempt must be refused before a
single person is scored.

For each file: flip a byte, append a byte, truncate it, delete it, replace it with a
symlink to an identical copy outside the bundle, and (for the non-manifest files) edit it
and re-hash it into ``release.json`` as a careful attacker would. For each JSON file:
change every leaf value (text, number, boolean, null), add a key to every object, and drop
an item from every list. Plus extra files, folders and symlinks next to the real ones.
"""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from riskmodels._io import sha256_bytes
from riskmodels.errors import PolicyViolation, ReleaseError
from riskmodels.release import APPROVALS_FILE, MANIFEST, load_release
from riskmodels.scoring import score


def _leaves(obj, path=()):
    if isinstance(obj, dict):
        yield path, obj
        for k, v in obj.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(obj, list):
        yield path, obj
        for i, v in enumerate(obj):
            yield from _leaves(v, (*path, i))
    else:
        yield path, obj


def _changed(value):
    """A different value of the same kind (what an attacker would write)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 1.5 + 0.01
    if isinstance(value, str):
        return value + "x" if value else "x"
    return "x"  # None


def _json_edits(doc):
    """Every structural and leaf edit of a JSON document, as (label, new document)."""
    for path, value in _leaves(doc):
        new = copy.deepcopy(doc)
        parent = new
        for k in path[:-1]:
            parent = parent[k]
        label = "/".join(map(str, path)) or "<root>"
        if isinstance(value, dict):
            target = parent[path[-1]] if path else new
            target["injected"] = True
            yield f"{label}+key", new
        elif isinstance(value, list):
            if value:
                target = parent[path[-1]] if path else new
                target.pop()
                yield f"{label}-item", new
        else:
            parent[path[-1]] = _changed(value)
            yield label, new


def _bytes_attacks(name):
    def flip(p):
        data = bytearray(p.read_bytes())
        data[len(data) // 2] ^= 0x01
        p.write_bytes(bytes(data))

    def append(p):
        p.write_bytes(p.read_bytes() + b" ")

    def truncate(p):
        p.write_bytes(p.read_bytes()[: max(0, p.stat().st_size // 2)])

    def delete(p):
        p.unlink()

    return {"flip": flip, "append": append, "truncate": truncate, "delete": delete}


def _rehash(bundle, name):
    m = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    if name in m["files"]:
        m["files"][name] = sha256_bytes((bundle / name).read_bytes())
    (bundle / MANIFEST).write_text(json.dumps(m, indent=1), encoding="utf-8")


def _attempts(bundle, tmp_path):
    """(label, function that damages a copy of the bundle)."""
    names = sorted(p.name for p in bundle.iterdir())
    for name in names:
        for kind, attack in _bytes_attacks(name).items():
            yield f"{name}:{kind}", lambda b, n=name, a=attack: a(b / n)
        if name not in (MANIFEST, APPROVALS_FILE):
            yield (
                f"{name}:edit+rehash",
                lambda b, n=name: (
                    (b / n).write_bytes((b / n).read_bytes() + b"\n"),
                    _rehash(b, n),
                ),
            )

        def symlink(b, n=name):
            outside = tmp_path / f"outside-{n}"
            shutil.copyfile(b / n, outside)
            (b / n).unlink()
            (b / n).symlink_to(outside)

        yield f"{name}:symlink", symlink
        if name.endswith(".json"):
            doc = json.loads((bundle / name).read_text(encoding="utf-8"))
            edits = list(_json_edits(doc))
            if name not in (MANIFEST, APPROVALS_FILE):
                # the large documents (evidence, gates, card, profile) are bound by one
                # hash: 40 edits spread over each are as telling as thousands
                edits = edits[:: max(1, len(edits) // 40)]
            for label, new in edits:

                def edit(b, n=name, d=new):
                    (b / n).write_text(json.dumps(d, indent=1), encoding="utf-8")
                    if n not in (MANIFEST, APPROVALS_FILE):
                        _rehash(b, n)

                yield f"{name}:{label}", edit
    yield "extra:loader.py", lambda b: (b / "loader.py").write_text("import os\n")
    yield "extra:model.pkl", lambda b: (b / "model.pkl").write_bytes(b"\x80\x04N.")
    yield "extra:folder", lambda b: (b / "sub").mkdir()
    yield (
        "extra:symlink-out",
        lambda b: (b / "evil.json").symlink_to(tmp_path),
    )
    yield (
        "manifest:list-outside",
        lambda b: (b / MANIFEST).write_text(
            json.dumps(
                {
                    **json.loads((b / MANIFEST).read_text()),
                    "files": {
                        **json.loads((b / MANIFEST).read_text())["files"],
                        "../outside.json": "0" * 64,
                    },
                }
            )
        ),
    )


def test_every_attack_on_every_file_and_field_is_refused(bundle, fitted, tmp_path):
    people = fitted[3].drop(columns=["incident", "sex"]).reset_index(drop=True)
    assert len(load_release(bundle).approvals) == 2  # the intact bundle loads
    accepted, tried = [], 0
    for label, attack in _attempts(bundle, tmp_path):
        target = tmp_path / "attack"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(bundle, target, symlinks=True)
        attack(target)
        tried += 1
        try:
            load_release(target)
        except ReleaseError:
            pass
        else:
            accepted.append(label)
            continue
        # scoring re-verifies from disk: it must refuse too, scoring nobody
        try:
            score(target, people, purpose="research_evaluation", explain="none")
        except (ReleaseError, PolicyViolation):
            pass
        else:
            accepted.append(f"{label} (scored)")
    assert tried > 300, tried
    assert accepted == [], f"{len(accepted)} of {tried} attacks accepted: {accepted}"


@pytest.mark.parametrize("name", ["policy.yaml", "spec.yaml"])
def test_yaml_files_are_bound_too(bundle_copy, name):
    text = (bundle_copy / name).read_text(encoding="utf-8")
    (bundle_copy / name).write_text(text.replace("\n", "\n# edited\n", 1), encoding="utf-8")
    _rehash(bundle_copy, name)
    with pytest.raises(ReleaseError) as info:
        load_release(bundle_copy)
    assert info.value.reason == "unapproved"  # re-hashing changed release.json: no signature fits
