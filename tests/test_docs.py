"""The documentation builds, and nothing in it points nowhere.

``mkdocs build --strict`` turns every warning into a failure; ``mkdocs.yml`` sets the
link, anchor and nav checks to warn, so a link to a missing page or anchor, or a page
left out of the nav, fails here. The README is not part of the site: its relative links
are checked against the files of the repository.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"

#: The guides the project promises (issue 19): every one must be in the site.
GUIDES = (
    "index.md",
    "data_scientists.md",
    "reviewers.md",
    "operations.md",
    "policy.md",
    "glossary.md",
)
#: Markdown links ``[text](target)``; images share the syntax and are checked the same.
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^```.*?^```", flags=re.DOTALL | re.MULTILINE)


def _config() -> dict:
    # mkdocs.yml holds no custom tags; plain YAML reads it
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def _nav_pages(nav) -> list[str]:
    pages: list[str] = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def _build(config: Path, site: Path) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` of ``config`` into ``site`` (never into the repository)."""
    args = ["--config-file", str(config), "--site-dir", str(site)]
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", *args],
        cwd=config.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_config_makes_strict_mode_fail_on_broken_links_and_anchors():
    cfg = _config()
    assert cfg["docs_dir"] == "docs"
    assert cfg["strict"] is True
    links, nav = cfg["validation"]["links"], cfg["validation"]["nav"]
    for key in ("not_found", "anchors", "unrecognized_links"):
        assert links[key] == "warn", f"validation.links.{key} must be warn"
    for key in ("omitted_files", "not_found"):
        assert nav[key] == "warn", f"validation.nav.{key} must be warn"


def test_every_page_is_in_the_nav_and_every_guide_exists():
    pages = _nav_pages(_config()["nav"])
    on_disk = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(pages) == on_disk
    for guide in GUIDES:
        assert guide in pages, guide


def test_the_site_builds_in_strict_mode(tmp_path):
    result = _build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    for guide in GUIDES:
        name = "index.html" if guide == "index.md" else f"{guide[:-3]}/index.html"
        assert (tmp_path / "site" / name).exists(), name


def test_strict_mode_catches_a_broken_link_and_a_broken_anchor(tmp_path):
    """The check itself works: a copy of the docs with one bad link and one bad anchor
    fails to build, naming both."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for page in DOCS.rglob("*.md"):
        (docs / page.relative_to(DOCS)).parent.mkdir(parents=True, exist_ok=True)
        (docs / page.relative_to(DOCS)).write_text(page.read_text(encoding="utf-8"), "utf-8")
    glossary = docs / "glossary.md"
    glossary.write_text(
        glossary.read_text(encoding="utf-8")
        + "\n[gone](no_such_page.md) and [lost](policy.md#no-such-heading)\n",
        encoding="utf-8",
    )
    cfg = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text(cfg, encoding="utf-8")
    result = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "no_such_page.md" in out and "no-such-heading" in out, out


def _readme_links() -> list[str]:
    text = _FENCE.sub("", README.read_text(encoding="utf-8"))
    return _LINK.findall(text)


def test_the_readme_links_to_every_guide():
    targets = {t.split("#", 1)[0] for t in _readme_links()}
    for guide in GUIDES:
        assert f"docs/{guide}" in targets, guide


def test_the_readmes_relative_links_point_to_files_that_exist():
    links = _readme_links()
    assert links, "the README has no links"
    broken = []
    for target in links:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL (checked by nobody offline) or an anchor in the README
        path = (ROOT / unquote(target.split("#", 1)[0])).resolve()
        if not path.exists() or ROOT not in (path, *path.parents):
            broken.append(target)
    assert not broken, f"README links to files that do not exist in the repository: {broken}"
