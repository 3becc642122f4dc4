"""Python's object protocol as the reading models it, for the submission's own classes:
attribute lookup with descriptors (methods, properties, static and class methods), `super()`,
making instances, special methods looked up on the class, and the type tests (`type()`,
`isinstance()`, `float()`) that must know what a modelled value stands for. A mixin of the
Interpreter, kept apart so that the interpreter itself reads as statements and expressions."""
import numbers

from autograder.reading import library, rules
from autograder.reading.errors import Tampering, Unreadable
from autograder.reading.modelled import OBJECT_METHODS
from autograder.reading.numbers import Real, exact
from autograder.reading.objects import (BoundMethod, Class, ClassMethod, Function, Instance, Module, Native, Opaque,
                                        Property, StaticMethod, Super)

FUNCTION_TYPE = type(lambda: None)


class ObjectProtocol:
    """Attributes, instances and types (mixed into autograder.reading.interpreter.Interpreter)."""

    def instantiate(self, klass, args, kwargs):
        found, new = klass.lookup("__new__")
        if found and not isinstance(new, Native):
            raise Unreadable(f"class {klass.name} defines __new__, which the grader does not read", self.where())
        proxy = klass.proxy
        instance = proxy.__new__(proxy, *args) if klass.python_base else proxy.__new__(proxy)
        found, init = klass.lookup("__init__")
        if found:
            result = self.call(self.bind_to(init, instance, klass), list(args), kwargs)
            if result is not None:
                raise TypeError(f"__init__() should return None, not '{type(result).__name__}'")
        elif klass.python_base is not None:
            klass.python_base.__init__(instance, *args)
        elif args or kwargs:
            raise TypeError(f"{klass.name}() takes no arguments")
        return instance

    # ---------------------------------------------------------------- attributes

    def bind_to(self, value, instance, klass):
        """A class attribute as `instance.<name>` sees it (the descriptor protocol)."""
        if isinstance(value, (Function, Native)):
            return BoundMethod(value, instance)
        if isinstance(value, StaticMethod):
            return value.function
        if isinstance(value, ClassMethod):
            return BoundMethod(value.function, klass)
        if isinstance(value, Property):
            if value.fget is None:
                raise AttributeError("unreadable attribute")
            return self.call(value.fget, [instance], {})
        return value

    def get_attribute(self, owner, name, node=None):
        problem = rules.attribute_problem(name)
        if problem:
            raise Tampering(problem, self.where())
        if isinstance(owner, Instance):
            return self.instance_attribute(owner, name)
        if isinstance(owner, Class):
            return self.class_attribute(owner, name)
        if isinstance(owner, Super):
            return self.super_attribute(owner, name)
        if isinstance(owner, Module):
            if name in owner.namespace:
                return owner.namespace[name]
            raise AttributeError(f"module '{owner.name}' has no attribute '{name}'")
        if isinstance(owner, library.ModuleModel):
            return self.module_attribute(owner, name)
        if isinstance(owner, Real):
            if name in ("real", "imag", "conjugate", "is_integer"):
                return getattr(owner, name)
            raise AttributeError(f"'{'complex' if owner.is_complex else 'float'}' object has no attribute '{name}'")
        if isinstance(owner, (Function, BoundMethod, Native)):
            return self.function_attribute(owner, name)
        if owner is object and name in OBJECT_METHODS:
            return OBJECT_METHODS[name]
        if isinstance(owner, Property) and name in ("getter", "setter", "deleter", "fget", "fset", "fdel"):
            return getattr(owner, name)
        if isinstance(owner, (Opaque, Property, StaticMethod, ClassMethod, library.Denied)):
            raise Unreadable(f"reads .{name} of {owner!r}", self.where())
        if name.startswith("_"):
            raise Unreadable(f"reads .{name} of a {type(owner).__name__}", self.where())
        self.changes(owner)  # (conservatively: its method may change it)
        return getattr(owner, name)  # a method of a str, list, dict, set, ...: Python's own

    def instance_attribute(self, instance, name):
        klass = type(instance)._class
        if name == "__class__":
            return klass
        found, value = klass.lookup(name)
        if found and isinstance(value, Property):
            return self.bind_to(value, instance, klass)
        own = vars(instance)
        if name in own:
            return own[name]
        if found:
            return self.bind_to(value, instance, klass)
        if klass.python_base is not None and name == "args":
            return instance.args
        found, fallback = klass.lookup("__getattr__")
        if found:
            return self.call(self.bind_to(fallback, instance, klass), [name], {})
        raise AttributeError(f"'{klass.name}' object has no attribute '{name}'")

    def class_attribute(self, klass, name):
        if name in ("__name__", "__qualname__"):
            return klass.name if name == "__name__" else klass.qualname
        found, value = klass.lookup(name)
        if not found:
            raise AttributeError(f"type object '{klass.name}' has no attribute '{name}'")
        if isinstance(value, StaticMethod):
            return value.function
        if isinstance(value, ClassMethod):
            return BoundMethod(value.function, klass)
        return value

    def super_attribute(self, sup, name):
        klass = type(sup.instance)._class if isinstance(sup.instance, Instance) else sup.instance
        mro = klass.mro if isinstance(klass, Class) else []
        after = mro[mro.index(sup.owner) + 1:] if sup.owner in mro else []
        for base in after:
            if name in base.namespace:
                return self.bind_to(base.namespace[name], sup.instance, klass)
        if name in OBJECT_METHODS:
            return BoundMethod(OBJECT_METHODS[name], sup.instance)
        raise AttributeError(f"'super' object has no attribute '{name}'")

    def module_attribute(self, module, name):
        problem = rules.module_attribute_problem(module.name, name)
        if problem:
            raise Tampering(problem, self.where())
        if name in module.attributes:
            return module.attributes[name]
        if module.real is not None and not hasattr(module.real, name):
            raise AttributeError(f"module '{module.name}' has no attribute '{name}'")
        return Opaque(f"{module.name}.{name}")

    def function_attribute(self, function, name):
        target = function.function if isinstance(function, BoundMethod) else function
        if name == "__name__":
            return target.name
        if name == "__qualname__":
            return getattr(target, "qualname", target.name)
        if name == "__doc__":
            return getattr(target, "doc", None)
        raise Unreadable(f"reads .{name} of a function", self.where())

    def set_attribute(self, owner, name, value, node=None):
        problem = rules.attribute_problem(name)
        if problem:
            raise Tampering(problem, self.where())
        if isinstance(owner, Instance):
            self.changes(owner)
            klass = type(owner)._class
            found, setter = klass.lookup("__setattr__")
            if found and not isinstance(setter, Native):
                self.call(self.bind_to(setter, owner, klass), [name, value], {})
                return
            self.store_attribute(owner, name, value)
            return
        if isinstance(owner, Class) and not self.replaces_code(owner, name, value):
            self.mark_stateful()
            owner.namespace[name] = value  # a class's counter or registry: data, not code
            return
        if isinstance(owner, (Class, Module, library.ModuleModel)):
            raise Tampering(f"assigns `.{name}` of {owner!r} outside its definition; the grader reads each class, "
                            "function and module where it is defined, so define it there", self.where())
        raise Unreadable(f"sets .{name} of a {type(owner).__name__}", self.where())

    def replaces_code(self, klass, name, value):
        found, current = klass.lookup(name)
        code = (Function, BoundMethod, Class, Native, Property, StaticMethod, ClassMethod)
        return name.startswith("__") or isinstance(value, code) or found and isinstance(current, code) or (
            callable(value) and not isinstance(value, (Real, Instance)))

    def store_attribute(self, instance, name, value):
        """object.__setattr__: a property's setter, else the instance's own dict."""
        klass = type(instance)._class
        found, descriptor = klass.lookup(name)
        if found and isinstance(descriptor, Property):
            if descriptor.fset is None:
                raise AttributeError(f"can't set attribute '{name}'")
            self.call(descriptor.fset, [instance, value], {})
            return
        if klass.namespace.get("__frozen__"):
            raise AttributeError(f"cannot assign to field '{name}'")
        vars(instance)[name] = value
        if name == "grad":
            self.grad_writes[id(instance)] = self.location

    def delete_attribute(self, owner, name, node=None):
        self.changes(owner)
        if isinstance(owner, Instance) and name in vars(owner):
            del vars(owner)[name]
            return
        raise Unreadable(f"deletes .{name}", self.where())

    # ---------------------------------------------------------------- built-ins that know the reading

    def convert_to_float(self, value, what="float()"):
        if isinstance(value, Real):
            if value.is_complex:
                raise TypeError("float() argument must be a string or a real number, not 'complex'")
            return value
        if isinstance(value, (bool, int, float)):
            return Real(exact(value))
        if isinstance(value, str):
            return Real.of(float(value))
        if isinstance(value, Instance):
            klass = type(value)._class
            for name in ("__float__", "__index__"):
                found, method = klass.lookup(name)
                if found:
                    result = self.call(self.bind_to(method, value, klass), [], {})
                    return self.convert_to_float(result, what)
        raise TypeError(f"{what} argument must be a string or a real number, not '{self.type_of(value).__name__}'"
                        if not isinstance(self.type_of(value), Class) else
                        f"must be real number, not {self.type_of(value).name}")

    def type_of(self, value):
        """What type(value) returns for the submission's code."""
        if isinstance(value, Instance):
            return type(value)._class
        if isinstance(value, Real):
            return complex if value.is_complex else float
        if isinstance(value, Class):
            return type
        if isinstance(value, (Function, BoundMethod, Native)):
            return FUNCTION_TYPE
        return type(value)

    def is_instance(self, value, kinds):
        if isinstance(kinds, tuple):
            return any(self.is_instance(value, kind) for kind in kinds)
        if isinstance(kinds, Class):
            return isinstance(value, Instance) and type(value)._class.is_subclass_of(kinds)
        if isinstance(kinds, Opaque):
            raise Unreadable(f"checks isinstance against {kinds.description}", self.where())
        if not isinstance(kinds, type):
            raise TypeError("isinstance() arg 2 must be a type, a tuple of types, or a union")
        if isinstance(value, Real):
            return real_is_instance(value, kinds)
        if isinstance(value, Instance):
            return kinds is object or kinds is library.ABC_BASE or (
                type(value)._class.python_base is not None and isinstance(value, kinds))
        if isinstance(value, Class):
            return kinds in (type, object)
        return isinstance(value, kinds)


def real_is_instance(value, kinds):
    if kinds in (object, numbers.Number, numbers.Complex):
        return True
    if value.is_complex:
        return kinds is complex
    return kinds in (float, numbers.Real)
