"""Progress of the long commands (issue 21, point 2): a tqdm bar on a terminal, plain
periodic lines otherwise."""

import io

from conditions.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_gets_one_line_a_tenth_and_a_short_stage_none():
    out = io.StringIO()
    progress = Progress(out)
    advance = progress.stage("loaded", 250)
    for done in range(1, 251):
        advance(done)
    quiet = progress.stage("linked", 56)
    for done in range(1, 57):
        quiet(done)
    progress.close()
    assert out.getvalue().splitlines() == [f"loaded: {n}/250" for n in range(25, 251, 25)]


def test_a_terminal_gets_a_bar():
    out = Terminal()
    progress = Progress(out)
    advance = progress.stage("indexed", 5000)
    for done in range(0, 5001, 500):
        advance(done)
    progress.close()
    assert "indexed: 100%" in out.getvalue() and "5000/5000" in out.getvalue()
