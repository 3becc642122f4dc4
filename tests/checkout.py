"""A copy of this repository as a fresh clone would hold it, for tests that run its commands."""
import shutil
import subprocess


def clone(repo, into):
    """Copy the repository's files (tracked, and untracked but not ignored) into `into`."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=repo,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (repo / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, into / name)
    return into
