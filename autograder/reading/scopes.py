"""Which names a function, lambda, comprehension or class body binds: Python's scoping rules,
worked out from the syntax as the compiler does (a name assigned anywhere in a function is
local to all of it, unless declared `global` or `nonlocal`)."""
import ast
from dataclasses import dataclass
from functools import cache

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp, ast.DictComp,
          ast.GeneratorExp)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass(frozen=True)
class Scope:
    locals: frozenset
    globals: frozenset
    nonlocals: frozenset


def parameters(arguments):
    names = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
    names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
    return names


@cache
def scope_of(node):
    """The Scope of a function, lambda, class body or comprehension node (cached per node)."""
    bound, declared_global, declared_nonlocal = set(), set(), set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        bound.update(parameters(node.args))
    if isinstance(node, COMPREHENSIONS):
        for generator in node.generators:
            bound.update(targets(generator.target))
        body = [node]
    else:
        body = [node.body] if isinstance(node, ast.Lambda) else node.body
    for child in _own_nodes(body, node):
        if isinstance(child, ast.Global):
            declared_global.update(child.names)
        elif isinstance(child, ast.Nonlocal):
            declared_nonlocal.update(child.names)
        elif isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
            bound.add(child.id)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(child.name)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).partition(".")[0] for a in child.names if a.name != "*")
        elif isinstance(child, ast.ExceptHandler) and child.name:
            bound.add(child.name)
        elif isinstance(child, ast.NamedExpr) and not isinstance(node, COMPREHENSIONS):
            bound.add(child.target.id)
    bound -= declared_global | declared_nonlocal
    return Scope(frozenset(bound), frozenset(declared_global), frozenset(declared_nonlocal))


def _own_nodes(body, owner):
    """Every node of `body` that belongs to the owner's scope: nested scopes contribute their
    name (a def, a class) and their decorators and defaults, not their insides; a comprehension
    contributes the targets of its walrus operators (they bind in the enclosing function)."""
    stack = list(body)
    while stack:
        node = stack.pop()
        yield node
        if node is not owner and isinstance(node, SCOPES):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                stack += [*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            elif isinstance(node, ast.ClassDef):
                stack += [*node.decorator_list, *node.bases, *node.keywords]
            elif isinstance(node, ast.Lambda):
                stack += [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            else:  # a nested comprehension: its first iterable is evaluated here; walrus targets bind here
                stack.append(node.generators[0].iter)
                stack += [n.target for n in ast.walk(node) if isinstance(n, ast.NamedExpr)]
            continue
        stack.extend(ast.iter_child_nodes(node))


def targets(target):
    """The names an assignment target binds."""
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
