"""Progress of long work: a line at every tenth off a terminal, never a line per item."""
import io

from zoo.progress import track


def test_progress_off_a_terminal_is_ten_lines_whatever_the_count():
    stream = io.StringIO()
    assert list(track(range(1000), "rendering", stream=stream)) == list(range(1000))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10 and lines[0].startswith("rendering: 100/1000") and lines[-1].startswith("rendering: 1000/1000")
    quiet = io.StringIO()
    assert list(track(range(5), "evaluating", stream=quiet, lines=False)) == list(range(5)) and not quiet.getvalue()
