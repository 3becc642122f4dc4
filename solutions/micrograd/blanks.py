"""Name the blank that a `NotImplementedError` comes from.

The parts you write start out as blanks: bodies that say `raise NotImplementedError()`.
Running into one is expected while you work, so the self-checks (test_selfcheck.py) and the
notebooks say which one it is, "not implemented yet: the _backward of Value.tanh (engine.py,
line 62)", instead of showing a traceback.
"""
import os


def name_of_blank(error):
    """'the _backward of Value.__mul__ (engine.py, line 42)' for the blank that raised `error`."""
    tb = error.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    if code.co_name == "<module>" and tb.tb_frame.f_globals.get("__name__") == "__main__":
        return "this cell"  # the code of a notebook cell itself
    qualname = getattr(code, "co_qualname", code.co_name)  # co_qualname is Python 3.11+
    parts = qualname.replace(".<locals>", "").split(".")
    where = f"{os.path.basename(code.co_filename)}, line {tb.tb_lineno}"
    if parts[-1] == "_backward" and len(parts) >= 2:
        return f"the _backward of Value.{parts[-2]} ({where})"
    return f"{'.'.join(parts)} ({where})"


def what_to_do(name):
    """The next step for the student who ran into the blank `name`."""
    if name == "this cell":
        return "Write your code where this cell says # YOUR CODE HERE, in place of `raise NotImplementedError()`."
    return ("Write it where it says # YOUR CODE HERE, save the file and run this cell again: the notebook "
            "reloads your .py files when they change.")


def show_blanks_in_notebook():
    """From now on, a cell that runs into a blank prints what to write and where, not a traceback."""
    from IPython import get_ipython

    def explain(shell, error_type, error, tb, tb_offset=None):
        name = name_of_blank(error)
        # shown as the cell's error output, in place of the usual traceback
        shell._showtraceback(error_type, error, [f"not implemented yet: {name}", what_to_do(name)])

    get_ipython().set_custom_exc((NotImplementedError,), explain)
