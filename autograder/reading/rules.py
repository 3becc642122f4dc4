"""What a submission's code may use: the allowlists that the static scan, the reading and the
worker's audit hook share.

The exercise needs plain Python: arithmetic, classes, closures, containers, and a few modules
of the standard library. Everything a submission could use to reach the grader's own state or
to run code that was not read is outside these lists: frames and code objects, a function's
globals and closure cells, the list of all classes, module internals, attributes looked up by a
computed name, code built from strings, and the modules that do any of that for you
(inspect, gc, signal, importlib, types, pickle, timeit, ...). A submission that stays inside the
lists can only reach its own objects and what the grader hands it.
"""
import sys
import types

ALL_PUBLIC = None  # every attribute whose name does not start with "_"

# Standard-library modules a submission may import, each with the attributes it may use.
ALLOWED_MODULES = {
    "math": ALL_PUBLIC, "random": ALL_PUBLIC, "itertools": ALL_PUBLIC, "statistics": ALL_PUBLIC, "heapq": ALL_PUBLIC,
    "bisect": ALL_PUBLIC, "numbers": ALL_PUBLIC, "textwrap": ALL_PUBLIC, "re": ALL_PUBLIC, "__future__": ALL_PUBLIC,
    "collections": frozenset({"deque", "defaultdict", "OrderedDict", "Counter", "namedtuple", "ChainMap", "abc"}),
    "collections.abc": ALL_PUBLIC,
    "typing": frozenset({
        "Any", "Callable", "ClassVar", "Collection", "Container", "Counter", "DefaultDict", "Deque", "Dict", "Final",
        "FrozenSet", "Generator", "Generic", "Hashable", "Iterable", "Iterator", "List", "Literal", "Mapping",
        "MutableMapping", "MutableSequence", "MutableSet", "NamedTuple", "NoReturn", "Optional", "OrderedDict",
        "Protocol", "Self", "Sequence", "Set", "Sized", "SupportsFloat", "SupportsInt", "Tuple", "Type", "TypeVar",
        "Union", "TYPE_CHECKING", "cast", "final", "overload"}),
    "dataclasses": frozenset({"dataclass", "field", "fields", "asdict", "astuple", "replace", "is_dataclass",
                              "InitVar", "KW_ONLY", "FrozenInstanceError"}),
    "functools": frozenset({"reduce", "partial", "wraps", "update_wrapper", "lru_cache", "cache", "cached_property",
                            "total_ordering", "cmp_to_key"}),
    "operator": frozenset({
        "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "neg", "pos", "abs", "lt", "le", "eq", "ne", "gt",
        "ge", "not_", "truth", "is_", "is_not", "and_", "or_", "xor", "index", "itemgetter", "iadd", "isub", "imul",
        "itruediv", "ipow", "matmul", "concat", "contains", "countOf", "indexOf", "getitem", "setitem", "delitem"}),
    "abc": frozenset({"ABC", "abstractmethod"}),
    "copy": frozenset({"copy", "deepcopy"}),
    "string": frozenset({"ascii_letters", "ascii_lowercase", "ascii_uppercase", "digits", "hexdigits", "octdigits",
                         "punctuation", "printable", "whitespace", "capwords"}),
    "time": frozenset({"time", "perf_counter", "monotonic", "process_time", "sleep"}),
    "warnings": frozenset({"warn", "catch_warnings", "simplefilter", "filterwarnings"}),
    "enum": frozenset({"Enum", "IntEnum", "auto", "unique"}),
    "graphlib": frozenset({"TopologicalSorter", "CycleError"}),
    "json": frozenset({"dumps", "loads"}),
    "pprint": frozenset({"pprint", "pformat"}),
    "sys": frozenset({"setrecursionlimit", "getrecursionlimit", "maxsize", "float_info", "int_info", "version",
                      "version_info", "platform", "byteorder", "stdout", "stderr", "exit", "argv"}),
    "os": frozenset({"path", "getcwd", "sep", "linesep"}),
    "os.path": frozenset({"join", "exists", "dirname", "basename", "abspath", "isfile", "isdir", "splitext"}),
}

# Standard-library modules that are not allowed but not tampering either: numerical tools the
# sandbox does not offer (an honest student may try them; the import fails with a clear message).
UNAVAILABLE_MODULES = frozenset({"cmath", "decimal", "fractions"})

# Special attributes of Python's data model that honest classes define or use.
DATA_MODEL = frozenset({
    "__init__", "__post_init__", "__new__", "__name__", "__qualname__", "__doc__", "__class__", "__module__",
    "__slots__", "__setattr__", "__getattr__", "__delattr__", "__annotations__", "__dataclass_fields__",
    "__match_args__", "__enter__", "__exit__", "__missing__", "__copy__", "__deepcopy__", "__init_subclass__",
    "__set_name__", "__get__", "__set__", "__delete__", "__del__", "__complex__", "__float__", "__bytes__",
    "__sizeof__", "__aiter__", "__anext__", "__await__", "__dir__",
    "__add__", "__radd__", "__iadd__", "__sub__", "__rsub__", "__isub__", "__mul__", "__rmul__", "__imul__",
    "__truediv__", "__rtruediv__", "__itruediv__", "__floordiv__", "__rfloordiv__", "__ifloordiv__", "__mod__",
    "__rmod__", "__imod__", "__divmod__", "__rdivmod__", "__pow__", "__rpow__", "__ipow__", "__matmul__",
    "__rmatmul__", "__imatmul__", "__neg__", "__pos__", "__abs__", "__invert__", "__and__", "__rand__", "__or__",
    "__ror__", "__xor__", "__rxor__", "__lshift__", "__rshift__", "__lt__", "__le__", "__gt__", "__ge__", "__eq__",
    "__ne__", "__hash__", "__bool__", "__len__", "__length_hint__", "__iter__", "__next__", "__reversed__",
    "__contains__", "__getitem__", "__setitem__", "__delitem__", "__call__", "__repr__", "__str__", "__format__",
    "__int__", "__index__", "__round__", "__trunc__", "__floor__", "__ceil__",
})


def _internal_attributes():
    """The attributes of frames, tracebacks, generators, coroutines and code objects, read off
    the running interpreter: every one leads to frames or to code."""
    def generator():
        yield

    async def coroutine():
        pass

    async def asynchronous_generator():
        yield

    frame = sys._getframe()
    try:
        raise ValueError
    except ValueError as error:
        traceback = error.__traceback__
    made = [generator(), coroutine(), asynchronous_generator()]
    names = set()
    for thing in (frame, traceback, *made, generator.__code__):
        names |= {n for n in dir(thing) if n.startswith(("f_", "tb_", "gi_", "cr_", "ag_", "co_"))}
    made[1].close()
    return frozenset(names)


INTERNAL_ATTRIBUTES = _internal_attributes()

# Built-in names whose only use is to reach or run code the reading cannot see.
CODE_BUILTINS = frozenset({"eval", "exec", "compile", "__import__", "globals", "locals", "vars", "breakpoint",
                           "__build_class__", "__loader__", "__spec__", "__builtins__"})
# Built-ins that look an attribute up by a name given as data: only with a literal name.
BY_NAME = frozenset({"getattr", "setattr", "delattr", "hasattr"})


def attribute_problem(name):
    """Why reading or writing the attribute `name` is not allowed, or ""."""
    if name in INTERNAL_ATTRIBUTES:
        return f"reads `.{name}`, an attribute of the interpreter's frames or code"
    if name.startswith("__") and name.endswith("__") and name not in DATA_MODEL:
        return f"uses `.{name}`, which reaches into the interpreter's internals"
    return ""


def module_problem(name):
    """Why importing module `name` is not allowed, or "" (for allowed modules, for the
    submission's own modules, for modules outside the standard library: those simply fail to
    import in the sandbox, and for UNAVAILABLE_MODULES)."""
    top = name.partition(".")[0]
    if name in ALLOWED_MODULES or top in ALLOWED_MODULES and name not in sys.stdlib_module_names:
        return ""
    if top not in sys.stdlib_module_names or top in UNAVAILABLE_MODULES:
        return ""
    return (f"imports {name}, which no part of this exercise needs (the standard library's "
            f"{', '.join(sorted(m for m in ALLOWED_MODULES if '.' not in m and m != '__future__'))} are allowed)")


def module_attribute_problem(module, attribute):
    """Why `module.attribute` is not allowed, or ""."""
    allowed = ALLOWED_MODULES.get(module)
    if module not in ALLOWED_MODULES:
        return ""
    if allowed is ALL_PUBLIC and not attribute.startswith("_") or allowed is not None and attribute in allowed:
        return ""
    return f"uses {module}.{attribute}, which no part of this exercise needs"


STANDARD_LIBRARY = frozenset(sys.stdlib_module_names)
FUNCTION_TYPES = (types.FunctionType, types.BuiltinFunctionType)
