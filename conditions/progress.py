"""Progress of the long commands (``import_content``, ``rebuild_index``): a bar on a
terminal, plain periodic lines otherwise (a log, a CI run, a pipe).

The bar is tqdm's, a well-kept library with no dependencies of its own, rather than one
drawn here: it handles terminal widths, rates and time left, and redraws sparingly.
"""

from tqdm import tqdm

# No monitor thread: the importer forks worker processes, and forking with a thread running risks a lock held in the child.
tqdm.monitor_interval = 0

LINES = 10  # plain lines per stage without a terminal: one per tenth
QUIET_BELOW = 100  # ... for stages of at least this many


class Progress:
    """``stage(description, total)`` returns ``advance(done)``, to be called with the number
    done so far (an int); ``close()`` ends the current bar. Writes to ``stream`` (a file-like
    with ``isatty()``; a Django command's ``self.stdout``)."""

    def __init__(self, stream):
        self.stream = stream
        self.terminal = stream.isatty()
        self.bar = None

    def stage(self, description, total):
        self.close()
        if self.terminal:
            self.bar = tqdm(total=total, desc=description, unit="file" if "file" in description else "article", file=self.stream,
                            dynamic_ncols=True, leave=True)

            def advance(done):
                self.bar.update(done - self.bar.n)

            return advance
        if total < QUIET_BELOW:
            return lambda done: None  # over in a moment: no lines to read
        step = max(1, total // LINES)

        def advance(done):
            if done % step == 0 or done == total:
                self.stream.write(f"{description}: {done}/{total}\n")

        return advance

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
