"""The CLI test runner shared by test_cli.py and test_pipeline.py (``tests`` is on
pytest's ``pythonpath``)."""

from __future__ import annotations

from inspect import signature

from typer.testing import CliRunner


class Runner(CliRunner):
    """stderr apart from stdout, and ``output`` both, under every click we support:
    click 8.2+ does this itself; click 8.1 (under the oldest typer) needs
    ``mix_stderr=False``, an argument 8.2 removed, and then ``output`` is stdout alone."""

    OLD = "mix_stderr" in signature(CliRunner.__init__).parameters

    def __init__(self, **kw):
        super().__init__(**kw, **({"mix_stderr": False} if self.OLD else {}))

    def invoke(self, *args, **kw):
        res = super().invoke(*args, **kw)
        if self.OLD:
            res.stdout_bytes += res.stderr_bytes  # what click 8.2 calls output
        return res


#: Wide, so that no line of a message is wrapped.
runner = Runner(env={"COLUMNS": "240"})
