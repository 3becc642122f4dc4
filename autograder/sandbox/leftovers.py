"""The temporary folders of grading, named so that what a killed grading process left is found.

Every process a grading process starts dies with it (kernel.die_with_parent, bubblewrap's
--die-with-parent), but a `kill -9` leaves its temporary folders: the staged copy of the
submission being graded, the sandbox's scratch folder, the compiler's. Each is named
`autograder-KIND-PID-...` after the process that made it, and the next grading process
deletes those whose process is gone (and the cgroups they left: kernel.Cgroup).
"""
import os
import re
import tempfile
from functools import cache
from pathlib import Path

from autograder.sandbox.kernel import Cgroup, process_alive
from autograder.worker.main import remove_tree

KINDS = ("stage", "worker", "compile")
NAME = re.compile(rf"autograder-(?:{'|'.join(KINDS)})-(\d+)-.*")


def prefix(kind):
    """The name prefix of this process's temporary folders of one of the KINDS."""
    assert kind in KINDS
    return f"autograder-{kind}-{os.getpid()}-"


def remove_stale():
    """Delete what killed grading processes left in the temporary folder, and their cgroups."""
    _remove_stale_in(tempfile.gettempdir())
    Cgroup.remove_stale()


@cache
def _remove_stale_in(folder):
    """Once per folder and process."""
    for path in Path(folder).glob("autograder-*"):
        found = NAME.fullmatch(path.name)
        if found and not process_alive(int(found[1])) and path.is_dir() and not path.is_symlink():
            remove_tree(str(path))
