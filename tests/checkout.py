"""A copy of this checkout as a user gets it: the files git knows (committed or not ignored), no
build litter, no editable install pointing at it."""
import shutil
import subprocess


def fresh_copy(repo, into):
    """Copy the checkout at `repo` into the new folder `into`; return `into`."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=repo,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (repo / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, into / name)
    return into
