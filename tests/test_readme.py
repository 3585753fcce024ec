"""The README's notebook example runs verbatim, as a new user would run it: a fresh
interpreter in an empty working folder, nothing from the repository on the path but the
installed package."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _notebook_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## In a notebook", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 1, "the notebook section holds exactly one Python block"
    return blocks[0]


def test_the_readme_block_is_found_and_uses_the_public_api():
    code = _notebook_block()
    assert code.startswith("import riskmodels as rm")
    assert "rm.score(" in code and "rm.approve(" in code
    compile(code, "README.md", "exec")  # valid Python as written


@pytest.mark.slow
def test_the_readme_example_runs_verbatim_in_an_empty_folder(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(_notebook_block(), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    # the refusal, then the release, the card and the list, all inside the working folder
    assert "Release refused" in result.stdout  # the first approval, without waivers
    assert "DECISION SUPPORT ONLY" in result.stdout  # the list's notice
    for path in ("context.yaml", "card/model_card.html", "releases/self-harm-v1", "list.xlsx"):
        assert (tmp_path / path).exists(), path
