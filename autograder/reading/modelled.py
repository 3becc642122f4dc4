"""The built-ins and decorators that the reading implements itself, because they must know what
a modelled value stands for: `float()`, `int()`, `isinstance()`, `type()`, `getattr()` and its
kin, `super()`, `property`, `range()` (bounded), `object.__setattr__`, and `@dataclass`, whose
generated methods are written here as Python's dataclasses would generate them. Each takes the
interpreter first."""
import sympy

from autograder.reading import library, rules
from autograder.reading.errors import OverBudget, Tampering, Unreadable
from autograder.reading.objects import Class, ClassMethod, Function, BoundMethod, Instance, Native, Opaque, \
    Property, StaticMethod, Super
from autograder.reading.numbers import Real

MAX_ITEMS = 1_000_000  # the longest sequence or range the reading builds
NOT_MODELLED = object()


def call_builtin(interpreter, callee, args, kwargs):
    """What a call of a modelled built-in returns, or NOT_MODELLED."""
    handler = BUILTIN_HANDLERS.get(id(callee))
    if handler is None or BUILTIN_OBJECTS[id(callee)] is not callee:
        return NOT_MODELLED
    return handler(interpreter, *args, **kwargs)


def _float(interpreter, value=0.0):
    return interpreter.convert_to_float(value)


def _int(interpreter, value=0, *base):
    if isinstance(value, Instance):
        klass = type(value)._class
        for name in ("__int__", "__index__", "__trunc__"):
            found, method = klass.lookup(name)
            if found:
                return interpreter.call(interpreter.bind_to(method, value, klass), [], {})
        raise TypeError(f"int() argument must be a string, a bytes-like object or a real number, not '{klass.name}'")
    return int(value, *base)


def _complex(interpreter, real=0, imag=0):
    parts = [interpreter.convert_to_float(p) if not (isinstance(p, Real) and p.is_complex) else p for p in (real, imag)]
    return Real(parts[0].expr + parts[1].expr * sympy.I, True)


def _isinstance(interpreter, value, kinds):
    return interpreter.is_instance(value, kinds)


def _issubclass(interpreter, klass, kinds):
    if isinstance(kinds, tuple):
        return any(_issubclass(interpreter, klass, k) for k in kinds)
    if isinstance(klass, Class):
        return kinds is object or isinstance(kinds, Class) and klass.is_subclass_of(kinds)
    if isinstance(kinds, Class):
        return False
    return issubclass(klass, kinds)


def _type(interpreter, *args):
    if len(args) != 1:
        raise Tampering("calls type() with three arguments, which builds a class at run time")
    return interpreter.type_of(args[0])


def _callable(interpreter, value):
    if isinstance(value, Instance):
        return type(value)._class.lookup("__call__")[0]
    return isinstance(value, (Function, BoundMethod, Class, Native, type)) or callable(value) and not isinstance(
        value, (Opaque, library.Denied))


def _literal_name(name, builtin):
    if not isinstance(name, str):
        raise TypeError(f"{builtin}(): attribute name must be string")
    return name


def _getattr(interpreter, owner, name, *default):
    try:
        return interpreter.get_attribute(owner, _literal_name(name, "getattr"))
    except AttributeError:
        if default:
            return default[0]
        raise


def _hasattr(interpreter, owner, name):
    try:
        interpreter.get_attribute(owner, _literal_name(name, "hasattr"))
    except AttributeError:
        return False
    return True


def _setattr(interpreter, owner, name, value):
    interpreter.set_attribute(owner, _literal_name(name, "setattr"), value)


def _delattr(interpreter, owner, name):
    interpreter.delete_attribute(owner, _literal_name(name, "delattr"))


def _super(interpreter, owner, instance):
    if not isinstance(owner, Class):
        raise Unreadable("super() with a class the grader does not read", interpreter.where())
    return Super(owner, instance)


def _range(interpreter, *args):
    made = range(*args)
    if len(made) > MAX_ITEMS:
        raise OverBudget(f"a range of {len(made):,} numbers", interpreter.where())
    return made


def _property(interpreter, fget=None, fset=None, fdel=None, doc=None):
    return Property(fget, fset, fdel, doc)


def _object_setattr(interpreter, instance, name, value):
    if not isinstance(instance, Instance):
        raise Unreadable("object.__setattr__ on something other than an instance", interpreter.where())
    problem = rules.attribute_problem(name)
    if problem:
        raise Tampering(problem, interpreter.where())
    klass = type(instance)._class
    found, descriptor = klass.lookup(name)
    if found and isinstance(descriptor, Property):
        interpreter.store_attribute(instance, name, value)
        return
    interpreter.changes(instance)
    vars(instance)[name] = value
    if name == "grad":
        interpreter.grad_writes[id(instance)] = interpreter.location


OBJECT_METHODS = {
    "__init__": Native("object.__init__", lambda interpreter, instance, *args, **kwargs: None),
    "__setattr__": Native("object.__setattr__", _object_setattr),
    "__repr__": Native("object.__repr__", lambda interpreter, instance: f"<{type(instance).__name__} object>"),
    "__str__": Native("object.__str__", lambda interpreter, instance: f"<{type(instance).__name__} object>"),
    "__eq__": Native("object.__eq__", lambda interpreter, a, b: True if a is b else NotImplemented),
    "__ne__": Native("object.__ne__", lambda interpreter, a, b: False if a is b else NotImplemented),
    "__hash__": Native("object.__hash__", lambda interpreter, instance: id(instance) >> 4),
}

BUILTIN_OBJECTS = {id(f): f for f in (float, int, complex, isinstance, issubclass, type, callable, getattr, hasattr,
                                      setattr, delattr, super, property, staticmethod, classmethod, range)}
BUILTIN_HANDLERS = {
    id(float): _float, id(int): _int, id(complex): _complex, id(isinstance): _isinstance,
    id(issubclass): _issubclass, id(type): _type, id(callable): _callable, id(getattr): _getattr,
    id(hasattr): _hasattr, id(setattr): _setattr, id(delattr): _delattr, id(super): _super,
    id(property): _property, id(staticmethod): lambda interpreter, f: StaticMethod(f), id(range): _range,
    id(classmethod): lambda interpreter, f: ClassMethod(f),
}


# ---------------------------------------------------------------- @dataclass

def dataclass_decorator(interpreter, klass=None, **options):
    """@dataclass and @dataclass(...): the methods Python's dataclasses would add to the class."""
    if klass is None:
        return Native("dataclass", lambda i, k: dataclass_decorator(i, k, **options))
    if not isinstance(klass, Class):
        raise Unreadable("@dataclass on something that is not a class", interpreter.where())
    fields = _dataclass_fields(klass)
    namespace = klass.namespace
    namespace["__dataclass_fields__"] = {f.name: f for f in fields}
    if options.get("init", True) and "__init__" not in namespace:
        namespace["__init__"] = Native(f"{klass.name}.__init__", _dataclass_init(klass, fields))
    if options.get("repr", True) and "__repr__" not in namespace:
        namespace["__repr__"] = Native(f"{klass.name}.__repr__", _dataclass_repr(klass, fields))
    eq, frozen = options.get("eq", True), options.get("frozen", False)
    if eq and "__eq__" not in namespace:
        namespace["__eq__"] = Native(f"{klass.name}.__eq__", _dataclass_eq(fields))
    if "__hash__" not in namespace:
        if options.get("unsafe_hash", False) or eq and frozen:
            namespace["__hash__"] = Native(f"{klass.name}.__hash__", lambda i, self: hash(
                tuple(vars(self).get(f.name) for f in fields if f.compare)))
        elif eq:
            namespace["__hash__"] = None
    if frozen:
        namespace["__frozen__"] = True
    return klass


def _dataclass_fields(klass):
    fields = {}
    for base in reversed(klass.mro[1:]):
        for field in base.namespace.get("__dataclass_fields__", {}).values():
            fields[field.name] = field
    for name, annotation in klass.namespace.get("__annotations__", {}).items():
        if annotation.startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = klass.namespace.get(name, _ABSENT)
        if isinstance(value, library.FieldSpec):
            field = value
            del klass.namespace[name]
            if field.has_default:
                klass.namespace[name] = field.default
        else:
            field = library.FieldSpec(value, None, True, True, True, value is not _ABSENT, False)
        field.name = name
        fields[name] = field
    return list(fields.values())


_ABSENT = object()


def _dataclass_init(klass, fields):
    def init(interpreter, self, *args, **kwargs):
        wanted = [f for f in fields if f.init]
        if len(args) > len(wanted):
            raise TypeError(f"{klass.name}.__init__() takes {len(wanted) + 1} positional arguments but "
                            f"{len(args) + 1} were given")
        given = dict(zip((f.name for f in wanted), args))
        for name, value in kwargs.items():
            if name in given or name not in {f.name for f in wanted}:
                raise TypeError(f"{klass.name}.__init__() got an unexpected keyword argument '{name}'")
            given[name] = value
        for field in fields:
            if field.name in given:
                value = given[field.name]
            elif field.has_factory:
                value = interpreter.call(field.default_factory, [], {})
            elif field.has_default:
                value = field.default
            else:
                raise TypeError(f"{klass.name}.__init__() missing required argument: '{field.name}'")
            _object_setattr(interpreter, self, field.name, value)
        found, post = klass.lookup("__post_init__")
        if found:
            interpreter.call(interpreter.bind_to(post, self, klass), [], {})
    return init


def _dataclass_repr(klass, fields):
    def representation(interpreter, self):
        parts = ", ".join(f"{f.name}={vars(self).get(f.name)!r}" for f in fields if f.repr)
        return f"{klass.name}({parts})"
    return representation


def _dataclass_eq(fields):
    def equal(interpreter, self, other):
        if type(other) is not type(self):
            return NotImplemented
        return tuple(vars(self).get(f.name) for f in fields if f.compare) == \
            tuple(vars(other).get(f.name) for f in fields if f.compare)
    return equal
