"""The objects a submission's code works with, as the reading models them.

Numbers are `numbers.Real`; strings, tuples, lists, dicts and sets are Python's own, holding
modelled values. A submission's own functions, classes and modules are the classes below. An
instance of a submission's class is a Python object of a proxy class made for it (`Class.proxy`)
whose special methods (`__add__`, `__eq__`, `__hash__`, ...) call back into the reading, so that
Python's own machinery (operator dispatch with its reflected fallbacks, `sum()`, `sorted()`, set
membership) behaves exactly as it does for the submission's code at run time.
"""
import ast
import contextlib
import contextvars

from autograder.reading.errors import Unreadable

_reader = contextvars.ContextVar("reader")


def reader():
    """The Interpreter reading right now (the proxies' special methods call back into it)."""
    return _reader.get()


@contextlib.contextmanager
def reading_with(interpreter):
    """Make `interpreter` the one the proxies call back into while the block runs."""
    token = _reader.set(interpreter)
    try:
        yield interpreter
    finally:
        _reader.reset(token)


class Module:
    """A module of the submission: its source, its tree, its namespace (its globals)."""

    def __init__(self, name, file, tree, is_package=False):
        self.name, self.file, self.tree = name, file, tree
        self.namespace = {"__name__": name, "__file__": file, "__doc__": ast.get_docstring(tree)}
        self.package = name if is_package else name.rpartition(".")[0]

    def __repr__(self):
        return f"<module {self.name!r}>"


class Function:
    """A `def` or `lambda` of the submission, with its defaults and the frame it closes over."""

    def __init__(self, node, module, enclosing, defaults, kw_defaults, qualname):
        self.node, self.module, self.enclosing = node, module, enclosing
        self.defaults, self.kw_defaults = defaults, kw_defaults
        self.name = getattr(node, "name", "<lambda>")
        self.qualname = qualname
        self.owner = None  # the class whose body defined it: what zero-argument super() needs
        self.doc = ast.get_docstring(node) if not isinstance(node, ast.Lambda) else None

    def __call__(self, *args, **kwargs):  # called by Python itself: sorted(key=f), map(f, ...)
        return reader().call(self, list(args), kwargs)

    def __repr__(self):
        return f"<function {self.qualname}>"


class BoundMethod:
    def __init__(self, function, instance):
        self.function, self.instance = function, instance

    def __call__(self, *args, **kwargs):
        return reader().call(self, list(args), kwargs)

    def __eq__(self, other):
        return isinstance(other, BoundMethod) and other.function is self.function and other.instance is self.instance

    def __hash__(self):
        return hash((id(self.function), id(self.instance)))

    def __repr__(self):
        return f"<bound method {getattr(self.function, 'qualname', '?')}>"


class Native:
    """A function the reading implements itself for the submission's classes (a dataclass's
    generated __init__, object.__setattr__, ...): called with the interpreter first."""

    def __init__(self, name, implementation):
        self.name, self.implementation = name, implementation

    def __call__(self, *args, **kwargs):
        return self.implementation(reader(), *args, **kwargs)

    def __repr__(self):
        return f"<built-in {self.name}>"


class Property:
    def __init__(self, fget=None, fset=None, fdel=None, doc=None):
        self.fget, self.fset, self.fdel, self.doc = fget, fset, fdel, doc

    def getter(self, fget):
        return Property(fget, self.fset, self.fdel, self.doc)

    def setter(self, fset):
        return Property(self.fget, fset, self.fdel, self.doc)

    def deleter(self, fdel):
        return Property(self.fget, self.fset, fdel, self.doc)


class StaticMethod:
    def __init__(self, function):
        self.function = function


class ClassMethod:
    def __init__(self, function):
        self.function = function


class Instance:
    """Root of the proxy classes: instances of the submission's classes. Their attributes live
    in the Python object's own __dict__; the submission's class is `type(obj)._class`."""
    _class = None


# The special methods a proxy forwards to the submission's class when that class defines them.
SPECIAL_METHODS = (
    "__add__", "__radd__", "__iadd__", "__sub__", "__rsub__", "__isub__", "__mul__", "__rmul__", "__imul__",
    "__truediv__", "__rtruediv__", "__itruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__",
    "__pow__", "__rpow__", "__ipow__", "__matmul__", "__rmatmul__", "__neg__", "__pos__", "__abs__", "__invert__",
    "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__", "__hash__", "__bool__", "__len__", "__iter__",
    "__next__", "__contains__", "__getitem__", "__setitem__", "__delitem__", "__call__", "__repr__", "__str__",
    "__format__", "__int__", "__index__", "__round__", "__trunc__", "__floor__", "__ceil__", "__reversed__",
)


def forwarder(name):
    def special(self, *args):
        return reader().call_special(self, name, args)
    special.__name__ = name
    return special


class Class:
    """A class of the submission: its bases, its namespace, its method resolution order."""

    def __init__(self, name, bases, namespace, module, qualname, python_base=None):
        self.name, self.bases, self.namespace = name, tuple(bases), namespace
        self.module, self.qualname = module, qualname
        self.python_base = python_base  # a built-in exception class it extends, if any
        self.mro = mro(self)
        self._proxy = None

    def lookup(self, name):
        """(True, value) for the first class of the MRO that defines `name`, else (False, None)."""
        for klass in self.mro:
            if name in klass.namespace:
                return True, klass.namespace[name]
        return False, None

    def is_subclass_of(self, other):
        return other in self.mro

    @property
    def proxy(self):
        """The Python class whose instances stand for instances of this class (made on first use,
        once decorators such as @dataclass have filled in the namespace)."""
        if self._proxy is None:
            parents = tuple(base.proxy for base in self.bases) or (Instance,)
            if self.python_base is not None and not any(issubclass(p, BaseException) for p in parents):
                parents += (self.python_base,)
            body = {"_class": self, "__module__": self.module.name if self.module else "", "__qualname__": self.qualname}
            for name in SPECIAL_METHODS:
                if name in self.namespace:
                    body[name] = None if self.namespace[name] is None else forwarder(name)
            try:
                self._proxy = type(self.name, parents, body)
            except TypeError as error:  # an MRO or layout Python itself refuses
                raise Unreadable(f"the classes of {self.name} cannot be combined: {error}") from None
        return self._proxy

    def __call__(self, *args, **kwargs):
        return reader().call(self, list(args), kwargs)

    def __repr__(self):
        return f"<class {self.qualname!r}>"


def mro(klass):
    """C3 linearisation, as Python computes it."""
    sequences = [list(base.mro) for base in klass.bases] + [list(klass.bases)]
    result = [klass]
    while any(sequences):
        for sequence in sequences:
            if not sequence:
                continue
            head = sequence[0]
            if not any(head in other[1:] for other in sequences):
                break
        else:
            raise Unreadable(f"class {klass.name} has bases in an order Python refuses")
        result.append(head)
        for sequence in sequences:
            if sequence and sequence[0] is head:
                del sequence[0]
    return result


class Super:
    """What super() returns: attribute lookup that starts after `owner` in the MRO of `instance`'s class."""

    def __init__(self, owner, instance):
        self.owner, self.instance = owner, instance


class Opaque:
    """A value the reading carries but does not model (a module it does not know, a typing
    construct): fine to hold and pass around, unreadable the moment anything is done with it."""

    def __init__(self, description):
        self.description = description

    def __getitem__(self, item):  # typing constructs: List[float], Optional[Value]
        return self

    def __or__(self, other):  # int | float
        return self

    __ror__ = __or__

    def __call__(self, *args, **kwargs):
        raise Unreadable(f"uses {self.description}, which the grader does not model")

    def __repr__(self):
        return self.description
