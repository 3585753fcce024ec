"""The HTML card: one self-contained, escaped, readable page."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

from riskmodels.cards import ModelCard

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Resources(HTMLParser):
    """Collects every attribute that can make a browser fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "poster", "action", "background"):
                self.loads.append((tag, name, value or ""))


def test_no_external_resource_loads(card):
    html = card.to_html()
    parser = _Resources()
    parser.feed(html)
    for tag, attr, value in parser.loads:
        assert not re.match(r"\s*(https?:)?//", value, re.I), (tag, attr, value)
        if attr == "href":
            assert value.startswith("#"), value  # in-page links only
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*https?://""", html, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?\s*(https?:)?//", html, re.I)
    assert "<script" not in html.lower() and "<link" not in html.lower()


def test_figures_are_embedded_pngs_with_alt_text_and_captions(card):
    html = card.to_html()
    images = re.findall(r'<img src="([^"]+)" alt="([^"]+)">', html)
    assert len(images) == len(card.figures) >= 3
    for src, alt in images:
        assert src.startswith("data:image/png;base64,") and alt
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)
    assert html.count("<figcaption>") == len(images)
    assert {"calibration", "roc", "fairness_sex", "fairness_ethnicity", "importance"} <= set(
        card.figures
    )


def test_one_document_with_inline_print_css(card):
    html = card.to_html()
    assert html.startswith("<!DOCTYPE html>") and html.count("<html") == 1
    assert "@media print" in html and "@page" in html
    assert '"Segoe UI"' in html  # CSS is inlined as is, not HTML-escaped
    assert '<meta charset="utf-8">' in html


def test_context_text_is_escaped(fitted, full_context_dict, fixed_time):
    model, evidence, _ = fitted
    full_context_dict["intended_use"] = '<script>alert("x")</script> & <b>bold</b>'
    card = ModelCard.build(model, evidence, full_context_dict, generated_at=fixed_time)
    html = card.to_html()
    assert "<script>" not in html and "&lt;script&gt;" in html
    md = card.to_markdown()
    # Markdown: the tags are backslash-escaped (shown as text, never run), and the file
    # still reads as plain text: no HTML entities
    assert "\\<script>alert" in md and "\\</script>" in md and "\\<b>bold" in md
    assert "<script>" not in md.replace("\\<script>", "")
    assert "&lt;" not in md and "&gt;" not in md and "&amp;" not in md


def test_notebook_repr_is_a_scoped_fragment(card):
    fragment = card._repr_html_()
    assert fragment.lstrip().startswith('<div class="rm-card">')
    assert "<html" not in fragment and "<body" not in fragment
    css = fragment.split("<style>", 1)[1].split("</style>", 1)[0]
    selectors = [s.strip() for s in re.findall(r"([^{}]+)\{", css) if "@" not in s]
    assert all(".rm-card" in s for s in selectors), selectors
