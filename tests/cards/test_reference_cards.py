"""The published reference cards and fairness reports are fresh: regenerating them gives
the committed files byte for byte (PNG figures included)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ("model_cards", "fairness/reports")


def _files(root: Path) -> dict[str, Path]:
    out = {}
    for folder in PUBLISHED:
        base = root / folder
        # model_cards/context/ holds the inputs (owners' context), not generated output
        out.update(
            {
                str(p.relative_to(root)): p
                for p in base.rglob("*")
                if p.is_file() and "context" not in p.relative_to(root).parts
            }
        )
    return out


@pytest.mark.slow
def test_published_reference_cards_are_fresh(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_cards.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,  # the output must not depend on the working directory
    )
    assert result.returncode == 0, result.stderr
    fresh, committed = _files(tmp_path), _files(ROOT)
    assert sorted(fresh) == sorted(committed), "run `make cards` and commit the result"
    stale = [
        name for name, path in fresh.items() if path.read_bytes() != committed[name].read_bytes()
    ]
    assert not stale, f"stale published files (run `make cards`): {stale}"
