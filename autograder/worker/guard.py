"""The audit hook a part's worker installs before it imports any student code.

Student code shares the worker's interpreter, so without this it could read the worker's
frames and objects or call into C. The hook is the second layer: the first is the grader's
static scan of the very code the worker runs (autograder/reading/rules.py), which refuses these
constructs before any part runs. For code that is not the worker's own, the hook denies:
  - every way to a frame it can see: sys._getframe (except for the few standard-library modules
    that use it for their own bookkeeping: typing, collections, enum, warnings, dataclasses),
    tracing and profiling hooks, sys._current_frames, the frame of a traceback or a generator;
  - walking the heap (gc.get_objects, get_referrers, get_referents) and replacing a function's code;
  - making code objects out of data (compile, exec, eval, marshal, code.__new__), unless the
    code comes from a file of the standard library or of the submission, or is what dataclasses
    and namedtuple generate; a caller's being in the standard library is not enough (timeit,
    typing's forward references and others compile strings they are handed);
  - importing, from the submission's own files, a standard-library module outside the allowed
    ones (the grader sends the list: math, random, typing, ...); modules the worker itself loaded
    that serve no honest purpose here (signal, inspect, ...) are dropped from sys.modules first,
    so importing them is an import the hook sees;
  - C access (ctypes, the interpreter's test modules) and starting other programs;
  - opening anything under /proc (another process's memory, or its own).
An audit hook cannot be removed once installed, and children made by fork inherit it. It
narrows the ways in; it is not what scores rest on (see the README's threat model): every
reply is still treated as the student's word.
Standard library only.
"""
import builtins
import os
import sys
import sysconfig
from _thread import get_ident

__builtins__ = dict(vars(builtins))

DENIED_IMPORTS = frozenset({"ctypes", "_ctypes", "cmath", "decimal", "_decimal", "_pydecimal", "fractions",
                            "_posixsubprocess", "_xxsubinterpreters", "_xxinterpchannels"})
ALWAYS_DENIED = frozenset({"sys._current_frames", "sys.settrace", "sys.setprofile", "gc.get_objects",
                           "gc.get_referrers", "gc.get_referents", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.forkpty", "subprocess.Popen",
                           "sys.remote_exec", "cpython.remote_debugger_script"})
JUDGED = ALWAYS_DENIED | {"import", "object.__getattr__", "object.__setattr__", "sys._getframe", "exec", "compile",
                          "marshal.load", "marshal.loads", "code.__new__", "open"}
FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_code", "gi_code", "cr_code"})
FRAME_USERS = ("typing.py", "collections/__init__.py", "enum.py", "warnings.py", "dataclasses.py")
CODE_MAKERS = ("dataclasses.py", "collections/__init__.py")  # they compile code they generate themselves
# Loaded by the worker itself, of no honest use to student code, and imported by none of the
# allowed modules: dropped from sys.modules, so that importing one is an import the hook sees.
# (Modules the standard library re-imports for its own use, such as types or inspect, stay.)
PURGED = ("signal", "_signal", "socket", "_socket", "select", "selectors", "subprocess")
STDLIB = tuple(os.path.join(sysconfig.get_paths()[key], "") for key in ("stdlib", "platstdlib"))  # once, in the parent


class NotAllowed(RuntimeError):
    """What student code gets for an operation the grader denies."""


def install(worker_files, allowed=None, submission=""):
    """Install the hook; `worker_files` are the worker's own source files, which may do anything;
    `allowed` the standard-library modules the submission's files may import (None: any);
    `submission` the folder of its files."""
    stdlib = STDLIB
    trusted = frozenset(worker_files)
    frame_users = frozenset(os.path.join(stdlib[0], name) for name in FRAME_USERS) | trusted
    code_makers = frozenset(os.path.join(stdlib[0], name) for name in CODE_MAKERS) | trusted
    own_files = os.path.join(submission, "") if submission else None
    standard = frozenset(sys.stdlib_module_names)
    getframe, busy = sys._getframe, set()

    def caller():
        """The file of the Python code that caused the event (the frame below the hook)."""
        try:
            return getframe(3).f_code.co_filename  # 0 caller, 1 judge, 2 hook, 3 the code that raised the event
        except ValueError:
            return ""

    def readable_source(path):
        """Code from a file the grader knows: the standard library's, or the submission's own."""
        path = str(path)
        return path.startswith(stdlib) or bool(own_files) and os.path.abspath(path).startswith(own_files)

    def may_make_code(event, args, where):
        if where in code_makers:
            return True
        if not where.startswith("<frozen importlib"):
            return False
        if event == "compile":
            return len(args) > 1 and readable_source(args[1])
        if event == "exec":
            return readable_source(getattr(args[0], "co_filename", ""))
        return event in ("marshal.loads", "marshal.load")  # the import system reading a .pyc it found

    def deny(what):
        raise NotAllowed(f"not allowed while grading: {what}")

    def judge(event, args):
        if event in ALWAYS_DENIED or event.startswith("ctypes."):
            deny(event)
        elif event == "import":
            name = str(args[0]).partition(".")[0]
            if name in DENIED_IMPORTS or name.startswith("_test"):
                deny(f"import {name} (grading runs with a small part of Python's standard library)")
            if allowed is not None and name in standard and name not in allowed and own_files \
                    and caller().startswith(own_files):
                deny(f"import {name} (grading runs with a small part of Python's standard library)")
        elif event == "object.__getattr__":
            if args[1] in FRAME_ATTRIBUTES and caller() not in trusted:
                deny(f"reading {args[1]}")
        elif event == "object.__setattr__":
            if args[1] in ("__code__", "__globals__"):
                deny(f"replacing a function's {args[1]}")
        elif event == "sys._getframe":
            if caller() not in frame_users:
                deny("sys._getframe")
        elif event in ("exec", "compile", "marshal.load", "marshal.loads", "code.__new__"):
            if not may_make_code(event, args, caller()):
                deny(f"{event} (the submission's code must be plain Python in its files)")
        elif event == "open":
            path = args[0]
            if isinstance(path, (str, bytes)) and os.path.realpath(os.fsdecode(path)).startswith("/proc"):
                deny("opening files under /proc")

    def hook(event, args):
        if event not in JUDGED and not event.startswith("ctypes."):
            return  # most events (id(), ...) are none of the grader's business, and frequent
        me = get_ident()
        if me in busy:  # the hook's own look at the stack raises events too
            return
        busy.add(me)
        try:
            judge(event, args)
        finally:
            busy.discard(me)

    sys.addaudithook(hook)
