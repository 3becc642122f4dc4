"""Submissions written before an op joined the exercise (tests/variants/, examples/, Karpathy's
micrograd): their `Value` has no method for it, so they lose that op's part and its feedback
says the method is missing. Their pinned expectations then list only the parts they lose on
purpose, and adding an op to the exercise touches none of them."""
import ast

from autograder import exercise


def methods_of_value(engine_text):
    """The names a class `Value` of the file defines: its functions and its assigned names."""
    names = set()
    for node in ast.walk(ast.parse(engine_text)):
        if isinstance(node, ast.ClassDef) and node.name == "Value":
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(item.name)
                elif isinstance(item, ast.Assign):
                    names |= {target.id for target in item.targets if isinstance(target, ast.Name)}
    return names


def unwritten_ops(engine_path):
    """{part: method} of the exercise's ops whose method the submission's Value lacks."""
    defined = methods_of_value(engine_path.read_text("utf-8"))
    return {op.part: op.method for op in exercise.OPS if op.method not in defined}
