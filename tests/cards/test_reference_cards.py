"""The published reference cards and fairness reports are fresh: regenerating them gives
the committed content.

Floats differ in their last digits across CPUs, BLAS builds and thread counts, so the
comparison is of content, not bytes (DESIGN "Known traps"):

* JSON is parsed; keys, strings, booleans and integers (every count) must be equal, and
  floats equal to a relative 1e-4 (they are published at 6 significant digits, so noise
  moves at most the sixth);
* Markdown and HTML must be equal except that a decimal number may differ by one unit in
  its last printed digit (a rounding flip); integers, words and structure must be equal;
* figures (PNG files and the data URIs inside the HTML) must match within a small RMS
  pixel tolerance (``matplotlib.testing.compare``).

The fast tests below prove the comparison still catches real changes: a count off by one,
a moved threshold, a new section, changed text, a redrawn figure.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ("model_cards", "fairness/reports")

#: Relative tolerance for published floats (6 significant digits are stored).
FLOAT_RTOL = 1e-4
#: RMS pixel difference (0-255 scale) tolerated between figures drawn on two machines.
IMAGE_TOL = 2.0

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?")
_DATA_URI = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")


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


# --------------------------------------------------------------------------- comparison
def _json_diff(a: Any, b: Any, where: str = "$") -> list[str]:
    """Differences between two parsed JSON documents beyond float noise."""
    if isinstance(a, dict) and isinstance(b, dict):
        diffs = [f"{where}: keys {sorted(set(a) ^ set(b))} differ"] if set(a) != set(b) else []
        for k in a.keys() & b.keys():
            diffs += _json_diff(a[k], b[k], f"{where}.{k}")
        return diffs
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items vs {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _json_diff(x, y, f"{where}[{i}]")
        ]
    numeric = (int, float)
    if (
        isinstance(a, numeric)
        and isinstance(b, numeric)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        if isinstance(a, int) and isinstance(b, int):
            return [] if a == b else [f"{where}: {a} vs {b}"]
        if math.isclose(a, b, rel_tol=FLOAT_RTOL, abs_tol=1e-9):
            return []
        return [f"{where}: {a!r} vs {b!r}"]
    return [] if a == b and type(a) is type(b) else [f"{where}: {a!r} vs {b!r}"]


def _numbers_close(a: str, b: str) -> bool:
    if a == b:
        return True
    if "." not in a or "." not in b:  # integers and counts: exact
        return False
    da, db = len(a.split(".")[1]), len(b.split(".")[1])
    if da != db or "e" in a.lower() or "e" in b.lower():
        return False
    x, y = float(a.replace(",", "")), float(b.replace(",", ""))
    return abs(x - y) <= 10.0**-da * 1.000001  # one unit in the last printed digit


def _text_diff(a: str, b: str) -> list[str]:
    """Differences between two rendered texts beyond last-digit rounding flips."""
    words_a, words_b = _NUMBER.split(a), _NUMBER.split(b)
    nums_a, nums_b = _NUMBER.findall(a), _NUMBER.findall(b)
    if words_a != words_b:
        for i, (x, y) in enumerate(zip(words_a, words_b, strict=False)):
            if x != y:
                return [f"text differs near {x[:60]!r} vs {y[:60]!r} (segment {i})"]
        return [f"text differs in length: {len(words_a)} vs {len(words_b)} segments"]
    return [
        f"number {x} vs {y} (after {words_a[i][-40:]!r})"
        for i, (x, y) in enumerate(zip(nums_a, nums_b, strict=True))
        if not _numbers_close(x, y)
    ]


def _image_diff(a: bytes, b: bytes, tmp: Path, name: str) -> list[str]:
    from matplotlib.testing.compare import compare_images
    from matplotlib.testing.exceptions import ImageComparisonFailure

    if a == b:
        return []
    pa, pb = tmp / f"{name}-expected.png", tmp / f"{name}-actual.png"
    pa.write_bytes(a)
    pb.write_bytes(b)
    try:
        result = compare_images(str(pa), str(pb), tol=IMAGE_TOL, in_decorator=True)
    except ImageComparisonFailure as err:  # different sizes
        return [f"figure {name}: {err}"]
    return [] if result is None else [f"figure {name}: RMS {result['rms']:.2f} > {IMAGE_TOL}"]


def content_diff(committed: Path, fresh: Path, tmp: Path) -> list[str]:
    """Real differences between a committed published file and a regenerated one."""
    tmp.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"\W", "_", committed.name)
    if committed.suffix == ".json":
        return _json_diff(json.loads(committed.read_text()), json.loads(fresh.read_text()))
    if committed.suffix == ".png":
        return _image_diff(committed.read_bytes(), fresh.read_bytes(), tmp, name)
    a, b = committed.read_text(), fresh.read_text()
    imgs_a, imgs_b = _DATA_URI.findall(a), _DATA_URI.findall(b)
    diffs = _text_diff(
        _DATA_URI.sub("data:image/png;base64,", a), _DATA_URI.sub("data:image/png;base64,", b)
    )
    if len(imgs_a) != len(imgs_b):
        return [*diffs, f"{len(imgs_a)} inline figures vs {len(imgs_b)}"]
    for i, (x, y) in enumerate(zip(imgs_a, imgs_b, strict=True)):
        diffs += _image_diff(base64.b64decode(x), base64.b64decode(y), tmp, f"{name}-{i}")
    return diffs


def tree_diff(committed_root: Path, fresh_root: Path, tmp: Path) -> dict[str, list[str]]:
    """Per published file, its real differences (a missing or extra file is one)."""
    fresh, committed = _files(fresh_root), _files(committed_root)
    out: dict[str, list[str]] = {}
    for name in sorted(set(fresh) | set(committed)):
        if name not in fresh or name not in committed:
            out[name] = [
                "only in " + ("the regenerated tree" if name in fresh else "the repository")
            ]
            continue
        diffs = content_diff(committed[name], fresh[name], tmp)
        if diffs:
            out[name] = diffs
    return out


# --------------------------------------------------------------------------- the check
@pytest.mark.slow
def test_published_reference_cards_are_fresh(tmp_path):
    out = tmp_path / "fresh"
    out.mkdir()
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_cards.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=out,  # the output must not depend on the working directory
    )
    assert result.returncode == 0, result.stderr
    stale = tree_diff(ROOT, out, tmp_path / "cmp")
    assert not stale, "stale published files (run `make cards`):\n" + "\n".join(
        f"{name}: {diffs[:5]}" for name, diffs in stale.items()
    )


# ------------------------------------------------------------- the comparison can fail
CARD_JSON = ROOT / "model_cards" / "self-harm" / "model_card.json"
CARD_MD = ROOT / "model_cards" / "self-harm" / "model_card.md"
FIGURE = ROOT / "model_cards" / "self-harm" / "figures" / "calibration.png"


def _noisy(obj: Any, rng: np.random.Generator) -> Any:
    """Every float moved by a relative 1e-12, as another CPU's arithmetic would."""
    if isinstance(obj, dict):
        return {k: _noisy(v, rng) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_noisy(v, rng) for v in obj]
    if isinstance(obj, float):
        return obj * (1 + rng.choice([-1e-12, 1e-12]))
    return obj


def _first(obj: Any, pred, path=()) -> tuple:
    """Path of the first leaf satisfying ``pred``."""
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, list):
        items = enumerate(obj)
    else:
        return path if pred(obj) else ()
    for k, v in items:
        found = _first(v, pred, (*path, k))
        if found:
            return found
    return ()


def _set(obj: Any, path: tuple, value: Any) -> None:
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value


def test_float_noise_passes_the_freshness_comparison(tmp_path):
    card = json.loads(CARD_JSON.read_text())
    noisy = _noisy(card, np.random.default_rng(0))
    assert noisy != card  # the noise really changed the floats
    assert _json_diff(card, noisy) == []
    # and re-rounding the noisy values to the published precision gives the same file
    from riskmodels._json import dumps_published

    assert _json_diff(card, json.loads(dumps_published(noisy))) == []
    # a rounding flip in the last printed digit of Markdown is noise too
    text = CARD_MD.read_text()
    m = re.search(r"\b0\.(\d{3})\b", text)
    flipped = f"0.{(int(m.group(1)) + 1) % 1000:03d}"
    assert _text_diff(text, text[: m.start()] + flipped + text[m.end() :]) == []


def test_freshness_comparison_catches_real_changes(tmp_path):
    card = json.loads(CARD_JSON.read_text())
    # a count off by one
    changed = copy.deepcopy(card)
    assert changed["metrics"]["n"] > 0
    changed["metrics"]["n"] += 1
    assert _json_diff(card, changed) == [
        f"$.metrics.n: {card['metrics']['n']} vs {card['metrics']['n'] + 1}"
    ]
    # a moved threshold (1%)
    path = _first(card, lambda v: isinstance(v, float) and v > 0.01)
    changed = copy.deepcopy(card)
    _set(changed, path, _first_value(card, path) * 1.01)
    assert _json_diff(card, changed)
    # a new section
    changed = copy.deepcopy(card)
    changed["new_section"] = {}
    assert _json_diff(card, changed)
    # a changed word and a changed count in Markdown
    text = CARD_MD.read_text()
    assert _text_diff(text, text.replace("Model card", "Model cards", 1))
    m = re.search(r"\b(\d{2,})\b(?![.,]\d)", text)
    assert _text_diff(text, text[: m.start()] + str(int(m.group(1)) + 1) + text[m.end() :])
    # a decimal moved by more than one unit in its last digit
    m = re.search(r"\b0\.(\d{3})\b", text)
    moved = f"0.{(int(m.group(1)) + 5) % 1000:03d}"
    assert _text_diff(text, text[: m.start()] + moved + text[m.end() :])


def _first_value(obj: Any, path: tuple) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def test_freshness_comparison_catches_a_redrawn_figure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from PIL import Image

    png = FIGURE.read_bytes()
    assert _image_diff(png, png, tmp_path, "same") == []
    with Image.open(FIGURE) as im:
        w, h = im.size
        dpi = im.info.get("dpi", (100, 100))[0]
    fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi)
    fig.add_subplot().plot([0, 1], [0, 1])
    other = tmp_path / "other.png"
    fig.savefig(other, dpi=dpi)
    assert _image_diff(png, other.read_bytes(), tmp_path, "other")
