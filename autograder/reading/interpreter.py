"""The reading's interpreter: Python's semantics over the submission's syntax trees, in the
grader's own process, never running the submission.

It executes the submission's modules and code the way CPython would (scopes and closures,
classes with their MRO, descriptors, decorators, dataclasses, operator dispatch, exceptions),
but on modelled values (`numbers.Real` for every float), so that what a function computes comes
out as an exact formula. Whatever it does not model stops it with `Unreadable`; whatever only
serves to reach the grader's internals stops it with `Tampering`; every run is bounded in steps,
call depth, time and expression size (`OverBudget`).
"""
import ast
import collections
import functools
import operator
import time

from autograder.reading import library, modelled, rules
from autograder.reading.modelled import MAX_ITEMS
from autograder.reading.protocol import ObjectProtocol
from autograder.reading.errors import OverBudget, ReadingStopped, Tampering, Unreadable
from autograder.reading.numbers import Real
from autograder.reading.objects import (BoundMethod, Class, ClassMethod, Function, Instance, Module, Native, Opaque,
                                        Property, StaticMethod, Super, reading_with)
from autograder.reading.scopes import parameters, scope_of

MAX_STEPS = 200_000
MAX_DEPTH = 60
MAX_SECONDS = 2.0

BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
          ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow, ast.MatMult: operator.matmul,
          ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor, ast.LShift: operator.lshift,
          ast.RShift: operator.rshift}
IN_PLACE = {ast.Add: operator.iadd, ast.Sub: operator.isub, ast.Mult: operator.imul, ast.Div: operator.itruediv,
            ast.FloorDiv: operator.ifloordiv, ast.Mod: operator.imod, ast.Pow: operator.ipow,
            ast.MatMult: operator.imatmul, ast.BitAnd: operator.iand, ast.BitOr: operator.ior,
            ast.BitXor: operator.ixor, ast.LShift: operator.ilshift, ast.RShift: operator.irshift}
COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
           ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
           ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}
UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}
CAUGHT_BY_BARE_EXCEPT = (Exception, SystemExit, KeyboardInterrupt, GeneratorExit)


class _Return(BaseException):
    def __init__(self, value):
        self.value = value


class _Break(BaseException):
    pass


class _Continue(BaseException):
    pass


class Frame:
    """One activation: a module's top level, a class body, or a call of a function."""
    __slots__ = ("kind", "module", "scope", "variables", "enclosing", "function", "qualname", "epoch")

    def __init__(self, kind, module, variables, scope=None, enclosing=None, function=None, qualname=""):
        self.kind, self.module, self.variables, self.scope = kind, module, variables, scope
        self.enclosing, self.function, self.qualname = enclosing, function, qualname
        self.epoch = _EPOCH[0]

    def closure(self):
        """The frame that functions defined here close over (class bodies are skipped, as in Python)."""
        return self if self.kind == "function" else self.enclosing


_EPOCH = [0]  # the case being read; frames remember the one they were made in


class Interpreter(ObjectProtocol):
    """Reads the modules of one submission: `sources` maps module names ("engine",
    "micrograd.engine") to (file name, syntax tree, is a package)."""

    def __init__(self, sources, max_seconds=MAX_SECONDS):
        self.sources = sources
        self.modules = {}
        self.builtins = library.builtins_namespace()
        self.library = library.module_models(Native("dataclasses.dataclass", modelled.dataclass_decorator))
        self.steps, self.depth = 0, 0
        self.deadline = time.monotonic() + max_seconds
        self.location = ("", 0)  # (file, line) of the statement being run
        self.grad_writes = {}  # id(instance) -> (file, line) of the last write of its .grad
        self.shared = set()  # ids of the objects made while loading the modules (see begin_case)
        self.stateful = False  # a case changed state that outlives it: later cases must all be read

    def __enter__(self):
        self._using = reading_with(self)
        self._using.__enter__()
        return self

    def __exit__(self, *exc):
        self._using.__exit__(*exc)

    def begin_case(self):
        """Start reading one case: what existed before it is shared state, which a case may read
        but whose change makes every later case depend on the ones before."""
        if _EPOCH[0] == 0 or not self.shared:
            self.shared = _reachable_ids([m.namespace for m in self.modules.values()])
        _EPOCH[0] += 1

    def changes(self, thing):
        """Note that the case being read changes `thing` (a namespace, an object)."""
        if _EPOCH[0] and id(thing) in self.shared:
            self.stateful = True

    def mark_stateful(self):
        """Note that the case being read changed state that outlives it (a class's counter)."""
        self.stateful = self.stateful or bool(_EPOCH[0])

    def where(self):
        file, line = self.location
        return f"{file}, line {line}" if file else ""

    def tick(self):
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise OverBudget(f"reading took more than {MAX_STEPS:,} steps", self.where())
        if self.steps % 256 == 0 and time.monotonic() > self.deadline:
            raise OverBudget("reading took too long", self.where())

    # ---------------------------------------------------------------- modules

    def import_module(self, name):
        """The module `name` as `import name` would bind its top package, loading what is needed."""
        if name in self.modules:
            return self.modules[name]
        problem = rules.module_problem(name)
        if problem:
            raise Tampering(problem, self.where())
        if name in self.sources:
            parent = name.rpartition(".")[0]
            if parent:
                self.import_module(parent)
            return self._execute_module(name)
        if name in self.library:
            return self.library[name]
        top = name.partition(".")[0]
        if top in rules.UNAVAILABLE_MODULES:
            raise RuntimeError(f"not allowed while grading: import {top}")
        if top in rules.STANDARD_LIBRARY:
            return Opaque(f"the module {name}")
        raise ModuleNotFoundError(f"No module named '{name}'")

    def _execute_module(self, name):
        file, tree, is_package = self.sources[name]
        module = Module(name, file, tree, is_package)
        self.modules[name] = module  # before running it: circular imports see it, as in Python
        saved = self.location
        try:
            self.run_block(tree.body, Frame("module", module, module.namespace))
        except BaseException:
            del self.modules[name]
            raise
        finally:
            self.location = saved
        return module

    def resolve(self, node, module):
        """The absolute module name of an ImportFrom (relative imports resolved)."""
        if not node.level:
            return node.module
        package = module.package.split(".") if module.package else []
        if node.level - 1 > len(package):
            raise ImportError("attempted relative import beyond top-level package")
        base = package[:len(package) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def submodule(self, parent, name, node):
        """`from parent import name` where name may be a submodule."""
        if isinstance(parent, Module) and name in parent.namespace:
            return parent.namespace[name]
        full = f"{parent.name}.{name}" if isinstance(parent, (Module, library.ModuleModel)) else name
        if full in self.sources or full in self.library:
            return self.import_module(full)
        return self.get_attribute(parent, name, node)

    # ---------------------------------------------------------------- statements

    def run_block(self, statements, frame):
        for statement in statements:
            self.run(statement, frame)

    def run(self, node, frame):
        self.tick()
        self.location = (frame.module.file, node.lineno)
        method = getattr(self, "run_" + type(node).__name__, None)
        if method is None:
            raise Unreadable(f"a `{type(node).__name__}` statement, which the grader does not read", self.where())
        method(node, frame)

    def run_Expr(self, node, frame):
        self.evaluate(node.value, frame)

    def run_Pass(self, node, frame):
        pass

    def run_Global(self, node, frame):
        pass

    run_Nonlocal = run_Global

    def run_Assign(self, node, frame):
        value = self.evaluate(node.value, frame)
        for target in node.targets:
            self.assign(target, value, frame)

    def run_AnnAssign(self, node, frame):
        if frame.kind == "class" and isinstance(node.target, ast.Name):
            annotations = frame.variables.setdefault("__annotations__", {})
            annotations[node.target.id] = ast.unparse(node.annotation)  # never evaluated: only the names matter
        if node.value is not None:
            self.assign(node.target, self.evaluate(node.value, frame), frame)

    def run_AugAssign(self, node, frame):
        combine = self.checked(IN_PLACE[type(node.op)], node.op)
        target = node.target
        if isinstance(target, ast.Name):
            self.store(target.id, combine(self.load(target.id, frame), self.evaluate(node.value, frame)), frame)
        elif isinstance(target, ast.Attribute):
            owner = self.evaluate(target.value, frame)
            current = self.get_attribute(owner, target.attr, target)
            self.set_attribute(owner, target.attr, combine(current, self.evaluate(node.value, frame)), target)
        elif isinstance(target, ast.Subscript):
            owner, index = self.evaluate(target.value, frame), self.evaluate(target.slice, frame)
            self.changes(owner)
            owner[index] = combine(owner[index], self.evaluate(node.value, frame))
        else:
            raise Unreadable("an augmented assignment to this kind of target", self.where())

    def checked(self, combine, op):
        def sized(left, right):
            self.check_size(op, left, right)
            return combine(left, right)
        return sized

    def run_Return(self, node, frame):
        raise _Return(None if node.value is None else self.evaluate(node.value, frame))

    def run_If(self, node, frame):
        self.run_block(node.body if self.truth(self.evaluate(node.test, frame)) else node.orelse, frame)

    def run_While(self, node, frame):
        while self.truth(self.evaluate(node.test, frame)):
            if not self.run_loop_body(node, frame):
                return
        self.run_block(node.orelse, frame)

    def run_For(self, node, frame):
        for item in self.iterate(self.evaluate(node.iter, frame)):
            self.assign(node.target, item, frame)
            if not self.run_loop_body(node, frame):
                return
        self.run_block(node.orelse, frame)

    def run_loop_body(self, node, frame):
        """Run a loop's body once; False when it breaks out of the loop."""
        try:
            self.run_block(node.body, frame)
        except _Break:
            return False
        except _Continue:
            pass
        return True

    def run_Break(self, node, frame):
        raise _Break()

    def run_Continue(self, node, frame):
        raise _Continue()

    def run_Delete(self, node, frame):
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.delete_name(target.id, frame)
            elif isinstance(target, ast.Attribute):
                self.delete_attribute(self.evaluate(target.value, frame), target.attr, target)
            elif isinstance(target, ast.Subscript):
                owner = self.evaluate(target.value, frame)
                self.changes(owner)
                del owner[self.evaluate(target.slice, frame)]
            else:
                raise Unreadable("a `del` of this kind of target", self.where())

    def run_Assert(self, node, frame):
        if not self.truth(self.evaluate(node.test, frame)):
            raise AssertionError(*([self.evaluate(node.msg, frame)] if node.msg else []))

    def run_Raise(self, node, frame):
        if node.exc is None:
            raise Unreadable("a bare `raise`", self.where())
        raised = self.evaluate(node.exc, frame)
        if isinstance(raised, Class) or isinstance(raised, type) and issubclass(raised, BaseException):
            raised = self.call(raised, [], {})
        if not isinstance(raised, BaseException):
            raise TypeError("exceptions must derive from BaseException")
        raise raised

    def run_Try(self, node, frame):
        try:
            try:
                self.run_block(node.body, frame)
            except ReadingStopped:
                raise
            except CAUGHT_BY_BARE_EXCEPT as error:
                handler = self.matching_handler(node.handlers, error, frame)
                if handler is None:
                    raise
                if handler.name:
                    self.store(handler.name, error, frame)
                self.run_block(handler.body, frame)
            else:
                self.run_block(node.orelse, frame)
        finally:
            if node.finalbody:
                self.run_block(node.finalbody, frame)

    def matching_handler(self, handlers, error, frame):
        for handler in handlers:
            if handler.type is None:
                return handler
            kinds = self.evaluate(handler.type, frame)
            for kind in kinds if isinstance(kinds, tuple) else (kinds,):
                if isinstance(kind, Class) and kind.python_base is not None and isinstance(error, kind.proxy):
                    return handler
                if isinstance(kind, type) and issubclass(kind, BaseException) and isinstance(error, kind):
                    return handler
        return None

    def run_Import(self, node, frame):
        for alias in node.names:
            module = self.import_module(alias.name)
            if alias.asname:
                for part in alias.name.split(".")[1:]:
                    module = self.submodule(module, part, node)
                self.store(alias.asname, module, frame)
            else:
                top = alias.name.partition(".")[0]
                self.store(top, self.modules.get(top) or self.library.get(top) or self.import_module(top), frame)

    def run_ImportFrom(self, node, frame):
        name = self.resolve(node, frame.module)
        module = self.import_module(name) if name else None
        for alias in node.names:
            if alias.name == "*":
                self.import_star(module, frame)
                continue
            if module is None:  # `from . import engine`
                value = self.import_module(self.resolve(ast.ImportFrom(module=alias.name, level=node.level), frame.module))
            else:
                problem = rules.module_attribute_problem(name, alias.name) if not isinstance(module, Module) else ""
                if problem:
                    raise Tampering(problem, self.where())
                value = self.submodule(module, alias.name, node)
            self.store(alias.asname or alias.name, value, frame)

    def import_star(self, module, frame):
        if isinstance(module, Module):
            names = {n: v for n, v in module.namespace.items() if not n.startswith("_")}
        elif isinstance(module, library.ModuleModel):
            names = {n: v for n, v in module.attributes.items() if not n.startswith("_")}
        else:
            raise Unreadable("`from ... import *` of a module the grader does not model", self.where())
        frame.variables.update(names)

    def run_FunctionDef(self, node, frame):
        function = self.make_function(node, frame)
        for decorator in reversed(node.decorator_list):
            function = self.call(self.evaluate(decorator, frame), [function], {})
        self.store(node.name, function, frame)

    def run_ClassDef(self, node, frame):
        if node.keywords:
            raise Unreadable(f"class {node.name} is made with keywords (a metaclass?), which the grader does not read",
                             self.where())
        bases, python_base = [], None
        for base in (self.evaluate(b, frame) for b in node.bases):
            if isinstance(base, Class):
                bases.append(base)
            elif isinstance(base, type) and issubclass(base, BaseException):
                python_base = base
            elif base is not object and base is not library.ABC_BASE:
                raise Unreadable(f"class {node.name} extends {base!r}, which the grader does not read", self.where())
        qualname = f"{frame.qualname}.{node.name}" if frame.qualname else node.name
        namespace = {"__module__": frame.module.name, "__qualname__": qualname}
        if ast.get_docstring(node) is not None:
            namespace["__doc__"] = ast.get_docstring(node)
        body = Frame("class", frame.module, namespace, scope_of(node), frame.closure(), qualname=qualname)
        self.run_block(node.body, body)
        python_base = python_base or next((b.python_base for b in bases if b.python_base), None)
        klass = Class(node.name, bases, namespace, frame.module, qualname, python_base)
        for value in namespace.values():
            for function in (value, getattr(value, "function", None), getattr(value, "fget", None),
                             getattr(value, "fset", None)):
                if isinstance(function, Function) and function.owner is None:
                    function.owner = klass
        for decorator in reversed(node.decorator_list):
            klass = self.call(self.evaluate(decorator, frame), [klass], {})
        self.store(node.name, klass, frame)

    def run_With(self, node, frame):
        if not node.items:
            return self.run_block(node.body, frame)
        item, rest = node.items[0], node.items[1:]
        manager = self.evaluate(item.context_expr, frame)
        entered = self.context_method(manager, "__enter__")()
        if item.optional_vars is not None:
            self.assign(item.optional_vars, entered, frame)
        inner = ast.With(items=rest, body=node.body) if rest else None
        try:
            self.run_With(inner, frame) if inner else self.run_block(node.body, frame)
        except ReadingStopped:
            raise
        except CAUGHT_BY_BARE_EXCEPT as error:
            if not self.truth(self.context_method(manager, "__exit__")(type(error), error, None)):
                raise
        else:
            self.context_method(manager, "__exit__")(None, None, None)

    def context_method(self, manager, name):
        if isinstance(manager, Instance):
            return lambda *args: self.call_special(manager, name, args)
        if isinstance(manager, library.CONTEXT_MANAGERS):
            return getattr(manager, name)
        raise Unreadable(f"a `with` statement over {manager!r}, which the grader does not read", self.where())

    # ---------------------------------------------------------------- names

    def load(self, name, frame):
        if frame.kind == "function":
            scope = frame.scope
            if name in scope.locals:
                if name in frame.variables:
                    return frame.variables[name]
                raise UnboundLocalError(f"cannot access local variable '{name}' where it is not associated with a value")
            if name not in scope.globals:
                found, value = self.load_free(name, frame.enclosing)
                if found:
                    return value
        elif frame.kind == "class":
            if name in frame.variables:
                return frame.variables[name]
            found, value = self.load_free(name, frame.enclosing)
            if found:
                return value
        if name in frame.module.namespace:
            return frame.module.namespace[name]
        if name in self.builtins:
            return self.builtins[name]
        raise NameError(f"name '{name}' is not defined")

    def load_free(self, name, frame):
        while frame is not None:
            if name in frame.scope.locals:
                if name in frame.variables:
                    return True, frame.variables[name]
                raise NameError(f"cannot access free variable '{name}' where it is not associated with a value")
            frame = frame.enclosing
        return False, None

    def frame_binding(self, name, frame):
        """The dict that an assignment to `name` in `frame` writes to."""
        if frame.kind == "function":
            if name in frame.scope.globals:
                return frame.module.namespace
            if name in frame.scope.nonlocals:
                outer = frame.enclosing
                while outer is not None and name not in outer.scope.locals:
                    outer = outer.enclosing
                if outer is None:
                    raise Unreadable(f"nonlocal {name} with no enclosing binding", self.where())
                return outer.variables
        return frame.variables

    def store(self, name, value, frame):
        binding = self.frame_binding(name, frame)
        if binding is not frame.variables or frame.epoch != _EPOCH[0]:
            self.changes(binding)
            if binding is not frame.variables and frame.kind == "function":
                self.stateful = self.stateful or bool(_EPOCH[0])
        binding[name] = value

    def delete_name(self, name, frame):
        binding = self.frame_binding(name, frame)
        if name not in binding:
            raise NameError(f"name '{name}' is not defined")
        del binding[name]

    def assign(self, target, value, frame):
        if isinstance(target, ast.Name):
            self.store(target.id, value, frame)
        elif isinstance(target, ast.Attribute):
            self.set_attribute(self.evaluate(target.value, frame), target.attr, value, target)
        elif isinstance(target, ast.Subscript):
            owner = self.evaluate(target.value, frame)
            self.changes(owner)
            owner[self.evaluate(target.slice, frame)] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            self.unpack(target.elts, value, frame)
        else:
            raise Unreadable(f"an assignment to a `{type(target).__name__}`", self.where())

    def unpack(self, targets, value, frame):
        items = list(self.iterate(value))
        starred = [i for i, t in enumerate(targets) if isinstance(t, ast.Starred)]
        if not starred:
            if len(items) != len(targets):
                raise ValueError(f"cannot unpack {len(items)} values into {len(targets)}")
            for target, item in zip(targets, items):
                self.assign(target, item, frame)
            return
        s = starred[0]
        after = len(targets) - s - 1
        if len(items) < len(targets) - 1:
            raise ValueError("not enough values to unpack")
        for target, item in zip(targets[:s], items[:s]):
            self.assign(target, item, frame)
        self.assign(targets[s].value, items[s:len(items) - after], frame)
        for target, item in zip(targets[s + 1:], items[len(items) - after:]):
            self.assign(target, item, frame)

    # ---------------------------------------------------------------- expressions

    def evaluate(self, node, frame):
        self.tick()
        method = getattr(self, "eval_" + type(node).__name__, None)
        if method is None:
            raise Unreadable(f"a `{type(node).__name__}` expression, which the grader does not read", self.where())
        return method(node, frame)

    def eval_Constant(self, node, frame):
        value = node.value
        if isinstance(value, (float, complex)):
            return Real.of(value)
        return value

    def eval_Name(self, node, frame):
        return self.load(node.id, frame)

    def eval_Attribute(self, node, frame):
        return self.get_attribute(self.evaluate(node.value, frame), node.attr, node)

    def eval_Subscript(self, node, frame):
        return self.evaluate(node.value, frame)[self.evaluate(node.slice, frame)]

    def eval_Slice(self, node, frame):
        part = lambda n: None if n is None else self.evaluate(n, frame)  # noqa: E731
        return slice(part(node.lower), part(node.upper), part(node.step))

    def eval_BinOp(self, node, frame):
        left, right = self.evaluate(node.left, frame), self.evaluate(node.right, frame)
        self.check_size(node.op, left, right)
        return BINARY[type(node.op)](left, right)

    def check_size(self, op, left, right):
        """Refuse, before computing it, a result too large to be honest work (a string repeated
        a billion times, 10 ** 10 ** 9): the reading process's memory limit is the last resort."""
        if isinstance(op, ast.Mult):
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, bytes, list, tuple)) and isinstance(times, int) \
                        and len(sequence) * times > MAX_ITEMS:
                    raise OverBudget("a sequence repeated into more than a million items", self.where())
        if isinstance(op, (ast.Pow, ast.LShift)) and type(left) is int and type(right) is int and right > 64:
            bits = abs(left).bit_length() * right if isinstance(op, ast.Pow) else right
            if bits > 100_000:
                raise OverBudget("an integer of more than 100,000 bits", self.where())

    def eval_UnaryOp(self, node, frame):
        operand = self.evaluate(node.operand, frame)
        if isinstance(node.op, ast.Not):
            return not self.truth(operand)
        return UNARY[type(node.op)](operand)

    def eval_BoolOp(self, node, frame):
        value = None
        for operand in node.values:
            value = self.evaluate(operand, frame)
            if self.truth(value) == isinstance(node.op, ast.Or):
                return value
        return value

    def eval_Compare(self, node, frame):
        left = self.evaluate(node.left, frame)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.evaluate(right_node, frame)
            result = COMPARE[type(op)](left, right)
            if not self.truth(result):
                return result
            left = right
        return result

    def eval_IfExp(self, node, frame):
        return self.evaluate(node.body if self.truth(self.evaluate(node.test, frame)) else node.orelse, frame)

    def eval_Lambda(self, node, frame):
        return self.make_function(node, frame)

    def eval_NamedExpr(self, node, frame):
        value = self.evaluate(node.value, frame)
        target = frame
        while target.kind == "function" and getattr(target.function, "comprehension", False):
            target = target.enclosing
        self.store(node.target.id, value, target)
        return value

    def eval_Tuple(self, node, frame):
        return tuple(self.elements(node.elts, frame))

    def eval_List(self, node, frame):
        return self.elements(node.elts, frame)

    def eval_Set(self, node, frame):
        return set(self.elements(node.elts, frame))

    def eval_Dict(self, node, frame):
        result = {}
        for key, value in zip(node.keys, node.values):
            if key is None:
                result.update(self.evaluate(value, frame))
            else:
                result[self.evaluate(key, frame)] = self.evaluate(value, frame)
        return result

    def elements(self, nodes, frame):
        items = []
        for node in nodes:
            if isinstance(node, ast.Starred):
                items.extend(self.iterate(self.evaluate(node.value, frame)))
            else:
                items.append(self.evaluate(node, frame))
        return items

    def eval_JoinedStr(self, node, frame):
        return "".join(self.evaluate(part, frame) if isinstance(part, ast.FormattedValue) else part.value
                       for part in node.values)

    def eval_FormattedValue(self, node, frame):
        value = self.evaluate(node.value, frame)
        value = {115: str, 114: repr, 97: ascii}.get(node.conversion, lambda v: v)(value)
        spec = self.evaluate(node.format_spec, frame) if node.format_spec else ""
        return format(value, spec)

    def eval_ListComp(self, node, frame):
        return [element for element in self.comprehension(node, frame, lambda f: self.evaluate(node.elt, f))]

    def eval_GeneratorExp(self, node, frame):
        return iter(self.eval_ListComp(node, frame))

    def eval_SetComp(self, node, frame):
        return set(self.eval_ListComp(node, frame))

    def eval_DictComp(self, node, frame):
        pairs = self.comprehension(node, frame, lambda f: (self.evaluate(node.key, f), self.evaluate(node.value, f)))
        return dict(pairs)

    def comprehension(self, node, frame, produce):
        inner = Frame("function", frame.module, {}, scope_of(node), frame.closure(), qualname=frame.qualname)
        inner.function = _COMPREHENSION
        results = []

        def loop(index, source):
            generator = node.generators[index]
            for item in self.iterate(source):
                self.assign(generator.target, item, inner)
                if all(self.truth(self.evaluate(test, inner)) for test in generator.ifs):
                    if index + 1 == len(node.generators):
                        results.append(produce(inner))
                    else:
                        loop(index + 1, self.evaluate(node.generators[index + 1].iter, inner))

        loop(0, self.evaluate(node.generators[0].iter, frame))
        return results

    def eval_Call(self, node, frame):
        callee = self.evaluate(node.func, frame)
        args = self.elements(node.args, frame)
        kwargs = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                kwargs.update(self.evaluate(keyword.value, frame))
            else:
                kwargs[keyword.arg] = self.evaluate(keyword.value, frame)
        if callee is super and not args and not kwargs:
            return self.zero_argument_super(frame)
        return self.call(callee, args, kwargs)

    def eval_Starred(self, node, frame):
        raise Unreadable("a starred expression here", self.where())

    def zero_argument_super(self, frame):
        function = frame.function if frame.kind == "function" else None
        if not isinstance(function, Function) or function.owner is None:
            raise RuntimeError("super(): no arguments")
        first = parameters(function.node.args)[:1]
        if not first or first[0] not in frame.variables:
            raise RuntimeError("super(): no arguments")
        return Super(function.owner, frame.variables[first[0]])

    # ---------------------------------------------------------------- truth and iteration

    def truth(self, value):
        if isinstance(value, Opaque):
            raise Unreadable(f"decides on {value.description}", self.where())
        return bool(value)

    def iterate(self, value):
        if isinstance(value, Opaque):
            raise Unreadable(f"iterates over {value.description}", self.where())
        for item in iter(value):
            self.tick()
            yield item

    # ---------------------------------------------------------------- functions and calls

    def make_function(self, node, frame):
        defaults = [self.evaluate(d, frame) for d in node.args.defaults]
        kw_defaults = {a.arg: self.evaluate(d, frame) for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if d}
        name = getattr(node, "name", "<lambda>")
        qualname = f"{frame.qualname}.{name}" if frame.qualname else name
        if _is_generator(node):
            raise Unreadable(f"{name} is a generator, which the grader does not read", self.where())
        function = Function(node, frame.module, frame.closure(), defaults, kw_defaults, qualname)
        return function

    def call(self, callee, args, kwargs):
        self.tick()
        if isinstance(callee, Function):
            return self.call_function(callee, args, kwargs)
        if isinstance(callee, BoundMethod):
            return self.call(callee.function, [callee.instance, *args], kwargs)
        if isinstance(callee, Class):
            return self.instantiate(callee, args, kwargs)
        if isinstance(callee, Native):
            return callee.implementation(self, *args, **kwargs)
        if isinstance(callee, Instance):
            found, _ = type(callee)._class.lookup("__call__")
            if not found:
                raise TypeError(f"'{type(callee)._class.name}' object is not callable")
            return self.call_special(callee, "__call__", args, kwargs)
        if isinstance(callee, (Opaque, library.Denied)):
            return callee(*args, **kwargs)
        result = modelled.call_builtin(self, callee, args, kwargs)
        if result is not modelled.NOT_MODELLED:
            return result
        if isinstance(callee, (Property, StaticMethod, ClassMethod, Super, Module, library.ModuleModel)):
            raise TypeError(f"'{type(callee).__name__}' object is not callable")
        if not callable(callee):
            raise TypeError(f"'{type(callee).__name__}' object is not callable")
        for argument in (*args, *kwargs.values(), getattr(callee, "__self__", None)):
            self.changes(argument)  # Python's own function may change what it is given
        return callee(*args, **kwargs)

    def call_function(self, function, args, kwargs):
        variables = self.bind(function, args, kwargs)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.depth -= 1
            raise OverBudget(f"reading went more than {MAX_DEPTH} calls deep", self.where())
        frame = Frame("function", function.module, variables, scope_of(function.node), function.enclosing, function,
                      function.qualname)
        saved = self.location
        try:
            if isinstance(function.node, ast.Lambda):
                return self.evaluate(function.node.body, frame)
            self.run_block(function.node.body, frame)
            return None
        except _Return as returned:
            return returned.value
        finally:
            self.depth -= 1
            self.location = saved

    def bind(self, function, args, kwargs):
        """The parameters of `function` bound to the call's arguments, as Python binds them."""
        spec = function.node.args
        positional = [a.arg for a in (*spec.posonlyargs, *spec.args)]
        variables = {}
        for name, value in zip(positional, args):
            variables[name] = value
        extra = args[len(positional):]
        if extra and spec.vararg is None:
            raise TypeError(f"{function.name}() takes {len(positional)} positional arguments but {len(args)} were given")
        if spec.vararg is not None:
            variables[spec.vararg.arg] = tuple(extra)
        rest = {}
        posonly = {a.arg for a in spec.posonlyargs}
        for name, value in kwargs.items():
            if name in variables and name not in posonly or name in posonly and spec.kwarg is None:
                raise TypeError(f"{function.name}() got multiple values for argument '{name}'")
            if name in positional and name not in posonly or name in {a.arg for a in spec.kwonlyargs}:
                variables[name] = value
            elif spec.kwarg is not None:
                rest[name] = value
            else:
                raise TypeError(f"{function.name}() got an unexpected keyword argument '{name}'")
        defaults = dict(zip(positional[len(positional) - len(function.defaults):], function.defaults))
        for name in positional:
            if name not in variables:
                if name not in defaults:
                    raise TypeError(f"{function.name}() missing required positional argument: '{name}'")
                variables[name] = defaults[name]
        for argument in spec.kwonlyargs:
            if argument.arg not in variables:
                if argument.arg not in function.kw_defaults:
                    raise TypeError(f"{function.name}() missing required keyword-only argument: '{argument.arg}'")
                variables[argument.arg] = function.kw_defaults[argument.arg]
        if spec.kwarg is not None:
            variables[spec.kwarg.arg] = rest
        return variables

    def call_special(self, instance, name, args, kwargs=None):
        """instance.<name>(*args) for a special method, looked up on the class, as Python does."""
        klass = type(instance)._class
        found, value = klass.lookup(name)
        if not found or value is None:
            raise TypeError(f"'{klass.name}' object does not support {name}")
        return self.call(self.bind_to(value, instance, klass), list(args), kwargs or {})


@functools.cache
def _is_generator(node):
    return any(isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await)) for n in _own_body(node))


MUTABLE = (list, dict, set, bytearray, collections.deque, Instance)


def _reachable_ids(roots, limit=20_000):
    """ids of the mutable objects reachable from `roots` (namespaces), through containers,
    instances' attributes and classes' namespaces."""
    seen, todo = set(), list(roots)
    while todo and len(seen) < limit:
        thing = todo.pop()
        if id(thing) in seen:
            continue
        if isinstance(thing, Class):
            todo.append(thing.namespace)
            continue
        if not isinstance(thing, MUTABLE) and not isinstance(thing, tuple):
            continue
        seen.add(id(thing))
        if isinstance(thing, dict):
            todo.extend(thing.values())
        elif isinstance(thing, Instance):
            todo.extend(vars(thing).values())
        else:
            todo.extend(thing)
    return seen


def _own_body(node):
    """The nodes of a function's own body (not those of functions nested in it)."""
    stack = list(node.body) if not isinstance(node, ast.Lambda) else [node.body]
    while stack:
        child = stack.pop()
        yield child
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(child))


class _Comprehension:
    comprehension = True


_COMPREHENSION = _Comprehension()
