"""The house's rules (docs/architecture.md), checked against the code's own imports: each app
imports only the rooms below it, Plivo's side and the simulator stay free of Django, and nothing
in the product leans on the benchmark or the tests."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Who may import whom (an app always may import itself). Keep in step with docs/architecture.md.
ALLOWED = {
    "contactcenter": {"phlo", "live", "metrics", "agents", "calls", "pages", "devtools", "simulator", "fastpath",
                      "conventions"},
    "pages": {"phlo", "live", "agents", "calls", "conventions"},
    "devtools": {"phlo", "live", "agents", "calls", "simulator"},
    "calls": {"phlo", "live", "metrics", "agents", "fastpath", "conventions"},
    "agents": {"phlo", "live", "metrics", "fastpath", "conventions"},
    "live": {"metrics", "fastpath"},
    "metrics": set(),
    "phlo": set(),
    "simulator": {"phlo"},
    "fastpath": set(),
    "conventions": set(),
}
PRODUCT = set(ALLOWED)
NOT_PRODUCT = {"bench", "tests"}
FRAMEWORKS = {"django", "rest_framework", "channels", "daphne", "asgiref", "adrf", "drf_spectacular"}
FRAMEWORK_FREE = {"phlo", "simulator"}


def product_files():
    for app in sorted(PRODUCT):
        yield from (path for path in sorted((ROOT / app).rglob("*.py")) if "migrations" not in path.parts)


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a module imports, anywhere in it (function-level imports too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def app_of(path: Path) -> str:
    return path.relative_to(ROOT).parts[0]


def app_graph() -> dict[str, dict[str, set[str]]]:
    """app → imported app → the files that import it."""
    graph: dict[str, dict[str, set[str]]] = {app: {} for app in PRODUCT}
    for path in product_files():
        app = app_of(path)
        for package in imported_packages(path) & (PRODUCT | NOT_PRODUCT):
            if package != app:
                graph[app].setdefault(package, set()).add(str(path.relative_to(ROOT)))
    return graph


def test_the_walk_sees_every_app():
    assert {app_of(path) for path in product_files()} == PRODUCT


@pytest.mark.parametrize("app", sorted(PRODUCT))
def test_each_app_imports_only_what_it_may(app):
    wrong = {package: files for package, files in app_graph()[app].items() if package not in ALLOWED[app]}
    assert not wrong, f"{app} imports against docs/architecture.md: {wrong}"


def test_agents_never_import_calls():
    assert "calls" not in app_graph()["agents"]


def test_no_app_imports_the_project_package():
    assert [app for app, imports in app_graph().items() if "contactcenter" in imports] == []


@pytest.mark.parametrize("app", sorted(FRAMEWORK_FREE))
def test_plivos_side_and_the_simulator_are_plain_python(app):
    """No Django and no product model: phlo/ is a library of Plivo's API; the simulator plays Plivo."""
    leaks = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FRAMEWORKS)
        for path in product_files() if app_of(path) == app and imported_packages(path) & FRAMEWORKS
    }
    assert leaks == {}


def test_the_apps_import_each_other_without_cycles():
    graph = {app: set(imports) & PRODUCT for app, imports in app_graph().items()}
    done, on_path = set(), []

    def visit(app):
        if app in on_path:
            pytest.fail(f"import cycle between apps: {' -> '.join([*on_path[on_path.index(app):], app])}")
        if app in done:
            return
        on_path.append(app)
        for imported in sorted(graph[app]):
            visit(imported)
        on_path.pop()
        done.add(app)

    for app in sorted(graph):
        visit(app)


# Inside calls/: the wings, each importing only the wings below it (docs/architecture.md, "The
# wings of calls/"). calls/models.py is the floor every wing stands on (it needs only the words,
# calls/core/vocabulary.py); the top-level modules (apps, admin, dashboards, commands) may use any wing.
WINGS = {
    "api": {"intake", "history", "queue", "actions", "core"},
    "intake": {"queue", "actions", "history", "core"},
    "history": {"core"},
    "queue": {"core"},
    "actions": {"core"},
    "core": set(),
}


def calls_modules_imported(path: Path) -> set[str]:
    """The `calls.…` modules a module imports (dotted names, as written)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("calls."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "calls":
            module = node.module
            found.update(f"{module}.{alias.name}" if module == "calls" else module for alias in node.names)
    return found


def wing_of(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in WINGS else None


def calls_files():
    return [path for path in product_files() if app_of(path) == "calls"]


def test_the_wings_are_the_ones_the_order_names():
    found = {path.relative_to(ROOT / "calls").parts[0] for path in calls_files() if path.parent != ROOT / "calls"}
    assert found - {"management"} == set(WINGS)


@pytest.mark.parametrize("wing", sorted(WINGS))
def test_each_wing_imports_only_the_wings_below_it(wing):
    wrong = {}
    for path in calls_files():
        if path.relative_to(ROOT / "calls").parts[0] != wing:
            continue
        for dotted in calls_modules_imported(path):
            other = wing_of(dotted)
            if other is None and dotted.split(".")[1] not in ("models",):
                wrong.setdefault(str(path.relative_to(ROOT)), []).append(dotted)  # a top-level module: above every wing
            elif other is not None and other != wing and other not in WINGS[wing]:
                wrong.setdefault(str(path.relative_to(ROOT)), []).append(dotted)
    assert not wrong, f"calls/{wing}/ imports against docs/architecture.md: {wrong}"


def test_the_models_need_only_the_words():
    imported = calls_modules_imported(ROOT / "calls/models.py")
    assert imported <= {"calls.core.vocabulary"}, imported


def test_the_top_of_calls_holds_at_most_a_dozen_modules():
    top = [path.name for path in (ROOT / "calls").glob("*.py")]
    assert len(top) <= 12, top


def test_no_row_of_a_call_is_written_outside_the_store():
    """calls/core/store.py is the one writer of a call and its members (retention deletes whole
    old calls: calls/history/retention.py)."""
    import re

    writes = re.compile(
        r"\b(Call|Member)\.objects\b[^\n]*\.(create|update|bulk_create|bulk_update|get_or_create|update_or_create)\("
        r"|\b(call|member)\.save\("
    )
    allowed = {ROOT / "calls/core/store.py"}
    found = {
        str(path.relative_to(ROOT)): writes.findall(path.read_text())
        for path in product_files() if path not in allowed and writes.search(path.read_text())
    }
    assert found == {}


def test_a_forbidden_import_would_be_caught(tmp_path):
    """The check reads function-level imports too (the kind that once hid a cycle)."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from calls.models import Call\n    import bench.run\n")
    assert imported_packages(module) == {"calls", "bench"}


# --- what comments cite is in the repository ---------------------------------------------------------------

CITING = ("*.py", "*.js", "*.html", "*.md")
CITED_DOC = re.compile(r"\bdocs/[a-z0-9_-]+\.md\b")


def cited_files():
    skipped = {".venv", "node_modules", "vendor", ".git", "results"}
    for pattern in CITING:
        for path in sorted(ROOT.rglob(pattern)):
            if not skipped & set(path.relative_to(ROOT).parts):
                yield path


def test_every_docs_page_the_code_and_docs_cite_exists():
    missing = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in cited_files()
        for name in CITED_DOC.findall(path.read_text(errors="replace"))
        if not (ROOT / name).is_file()
    }
    assert not missing, sorted(missing)
