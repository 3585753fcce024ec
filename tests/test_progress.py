"""Progress of long steps: shown in a terminal, silent when output is captured or piped.

A real pseudo-terminal stands in for the user's terminal: the steps run in a child
process whose stderr is the pty, exactly as under ``riskmodels train`` in a shell.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import textwrap

import pytest

from riskmodels import _progress
from riskmodels._progress import step

pty = pytest.importorskip("pty")  # POSIX only
fcntl = pytest.importorskip("fcntl")
termios = pytest.importorskip("termios")

_SCRIPT = textwrap.dedent(
    """
    import time
    from riskmodels._progress import step

    with step("Outer step", keep=True) as outer:
        outer.stage("first stage")
        with step("Inner bar", total=4, unit="rows") as bar:
            for _ in range(4):
                time.sleep(0.05)
                bar.advance()
        print("printed by the step")
    try:
        with step("Failing step", keep=True):
            raise ValueError("boom")
    except ValueError:
        pass
    print("all done")
    """
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _run_in_pty(env: dict[str, str]) -> str:
    """Run _SCRIPT with stdout and stderr on a pseudo-terminal; its output, sans escapes."""
    parent, child = pty.openpty()
    # 40 rows x 100 columns: a fresh pty is 0 x 0, which leaves a live display no room.
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT],
        stdin=child,
        stdout=child,
        stderr=child,
        env={**os.environ, **env, "TERM": "xterm"},
        close_fds=True,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(parent, 4096)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(parent)
    assert proc.wait(timeout=60) == 0
    return _ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))


def test_steps_show_in_a_terminal():
    out = _run_in_pty({})
    assert "✓ Outer step" in out  # kept steps leave a line with their time
    assert "Outer step: first stage" in out  # the live line names the stage
    assert "Inner bar" in out and "/4 rows" in out  # a bar with a count
    assert "✗ Failing step  failed after" in out
    assert "printed by the step" in out and "all done" in out


def test_environment_variable_turns_the_display_off():
    out = _run_in_pty({_progress.ENV_VAR: "0"})
    assert "Outer step" not in out and "Inner bar" not in out
    assert "printed by the step" in out and "all done" in out


def test_silent_when_output_is_not_a_terminal():
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert proc.stdout == "printed by the step\nall done\n"
    assert proc.stderr == ""


def test_silent_under_pytest_capture(capfd):
    with step("Quiet step", keep=True) as s:
        s.stage("a stage")
        s.advance(3)
        assert not _progress.active()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_forced_steps_nest_and_report(capsys):
    with step("Forced", keep=True, mode=True) as outer:
        assert _progress.active()
        outer.stage("half way")
        with step("Nested bar", total=10, unit="rows", keep=True) as bar:  # "auto": nests
            bar.advance(10)
        with step("Never shown", mode=False) as hidden:
            hidden.advance(1)
    assert not _progress.active()
    err = capsys.readouterr().err
    assert "✓   Nested bar (10/10 rows)" in err  # indented under its parent
    assert "✓ Forced" in err
    assert "Never shown" not in err


def test_display_is_closed_after_an_error(capsys):
    with pytest.raises(KeyError), step("Breaks", keep=True, mode=True):
        raise KeyError("x")
    assert not _progress.active()
    assert "✗ Breaks  failed after" in capsys.readouterr().err
