"""The shape of the package: one registry of steps that everything reads, a module and a script
per step with the same number, no import cycles, and imports inside functions only for the
heavy frameworks."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from conftest import ROOT

from stackgen import registry

PACKAGE = ROOT / "src" / "stackgen"
# The only modules a function may import by itself: each costs seconds to load (distributed,
# an optional extra, too: a missing one must be one line, not a failed import of the module;
# skops imports every scikit-learn module).
HEAVY = ("keras", "tensorflow", "jax", "torch", "matplotlib", "distributed", "skops", "h5py")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT / "src").with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """(imported module, inside a function?) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside.update(id(n) for n in ast.walk(node) if n is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            yield name, id(node) in inside


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {imported for imported, _ in _imports(path) if imported in modules} - {name}
        for name, path in modules.items()
    }


def test_the_package_has_no_import_cycle():
    graph, cycles = _graph(), []
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_cycle_check_can_fail(tmp_path, monkeypatch):
    """Guards the test above: two modules importing each other are found."""
    pkg = tmp_path / "src" / "stackgen"
    pkg.mkdir(parents=True)
    (pkg / "a.py").write_text("from stackgen import b\n")
    (pkg / "b.py").write_text("import stackgen.a\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", pkg, raising=False)
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path, raising=False)
    graph = _graph()
    assert graph["stackgen.a"] == {"stackgen.b"} and graph["stackgen.b"] == {"stackgen.a"}


def test_functions_import_only_the_heavy_frameworks():
    local = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in PACKAGE.rglob("*.py")
        for name, in_function in _imports(path)
        if in_function and name.split(".")[0] not in HEAVY
    ]
    assert local == []


def test_every_step_has_its_script_its_module_and_the_same_number():
    for step in registry.STEPS:
        script = ROOT / step.script
        assert script.is_file(), step.script
        text = script.read_text(encoding="utf-8")
        assert text.startswith(f'"""Step {step.number}:'), step.script
        assert f'run_script("{step.module_name}"' in text, step.script  # one hop to the logic
        module = importlib.import_module(step.module_name)
        assert step.number == module.NUMBER and callable(module.run)
        assert (module.__doc__ or "").startswith(f"Step {step.number}:")
    assert sorted(p.name for p in (ROOT / "scripts").glob("*.py")) == sorted(
        Path(s.script).name for s in registry.STEPS
    )


def test_every_written_file_has_exactly_one_maker():
    for step in registry.STEPS:
        for pattern in (*step.writes, *step.may_write):
            example = pattern.replace("*", "x")
            makers = [s.number for s in registry.STEPS if s.makes(example)]
            assert makers == [step.number], pattern


def _code_strings(path: Path):
    """String literals in ``path`` that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_text and id(node) not in docstrings:
            yield node.value


def test_no_module_types_a_step_script_the_registry_names():
    """Script paths in messages come from the registry, never typed into the package."""
    typed = [
        f"{path.relative_to(ROOT)}: {match}"
        for path in PACKAGE.rglob("*.py")
        for text in _code_strings(path)
        for match in re.findall(r"scripts/\d\d_\w+\.py", text)
    ]
    assert typed == []


@pytest.mark.parametrize(
    "upto, numbers", [(5, [1, 2, 3, 4, 5]), (11, [1, 2, 3, 4, 5, 6, 7, 8, 9, 11])]
)
def test_run_takes_its_steps_from_the_registry(upto, numbers):
    assert [s.number for s in registry.in_run(upto)] == numbers


# --- the core and its shell ----------------------------------------------------------------------

CORE = ("api", "methods", "data", "trust")  # what the estimators are made of
SHELL = ("cli", "workdir", "tutorial", "extensions")  # and the command line around it
SHELL_MODULES = ("config", "registry", "pipeline", "step_io", "step_skips", "stack_steps", "plots")


def _core_files():
    return [p for pkg in CORE for p in (PACKAGE / pkg).rglob("*.py")]


def _is_shell(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "stackgen" and len(parts) > 1 and parts[1] in (*SHELL, *SHELL_MODULES)


def test_the_core_imports_nothing_of_the_command_line():
    """No module of the estimators' core imports the flags' Config, the registry, the work
    dir's Paths, the steps' Printer, the steps or the command line; so none takes them."""
    crossing = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _core_files()
        for name, _ in _imports(path)
        if _is_shell(name)
    ]
    assert crossing == []
    assert _is_shell("stackgen.workdir.paths") and not _is_shell("stackgen.methods.members")


def test_the_cores_messages_name_no_flag():
    """The core says what is wrong in the API's words (``cv=5``, ``members[2]``); the command
    line passes its own words in (``--member-files cnn.keras``) where it calls the core."""
    flagged = [
        f"{path.relative_to(ROOT)}: {text[:60]!r}"
        for path in _core_files()
        for text in _code_strings(path)
        if re.search(r"(^|[\s(])--[a-z]", text)
    ]
    assert flagged == []


def test_the_package_exports_the_api_without_loading_it():
    import stackgen

    assert {"StackingClassifier", "StackingRegressor", "load", "tutorial_mlp"} <= set(dir(stackgen))
    init = (PACKAGE / "__init__.py").read_text(encoding="utf-8")
    assert "import keras" not in init and "from stackgen.api" not in init
