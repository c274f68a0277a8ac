"""Issue 10, bounded memory: every cache of the app declares its bound.

The source of every module of ``gmm_app`` (and the pages) is inspected: each
``st.cache_data`` / ``st.cache_resource`` / ``functools.lru_cache`` / ``functools.cache``
decorator and each module-level dictionary that functions fill must be declared in
:data:`gmm_app.bounded.CACHE_BOUNDS`, and the decorator's own bound must be the declared one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gmm_app.bounded import CACHE_BOUNDS

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*(ROOT / "gmm_app").rglob("*.py"), *(ROOT / "pages").glob("*.py"),
                  ROOT / "app.py"])


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    return ast.unparse(target)


def _keyword(node: ast.expr, name: str) -> ast.expr | None:
    if isinstance(node, ast.Call):
        for kw in node.keywords:
            if kw.arg == name:
                return kw.value
    return None


def _caches() -> list[tuple[str, str, ast.expr | None]]:
    """(qualified name, kind, decorator node or None) of every cache in the sources."""
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = _module(path)
        filled: set[str] = set()
        for node in ast.walk(tree):  # names written as name[key] = ... inside functions
            if isinstance(node, ast.FunctionDef):
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Assign):
                        for target in sub.targets:
                            if isinstance(target, ast.Subscript) and isinstance(
                                    target.value, ast.Name):
                                filled.add(target.value.id)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                for deco in node.decorator_list:
                    name = _decorator_name(deco)
                    if name.split(".")[-1] in ("cache_data", "cache_resource", "lru_cache",
                                               "cache"):
                        found.append((f"{module}.{node.name}", name, deco))
            targets: list[str] = []
            value = None
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                targets, value = [node.target.id], node.value
            elif isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
                value = node.value
            is_dict = isinstance(value, ast.Dict) or (
                isinstance(value, ast.Call) and ast.unparse(value.func).split(".")[-1]
                in ("dict", "OrderedDict", "defaultdict"))
            for target in targets:
                if is_dict and target in filled:
                    found.append((f"{module}.{target}", "module dict", None))
            if (isinstance(value, ast.Call) and ast.unparse(value.func).endswith("BoundedCache")
                    and value.args and isinstance(value.args[0], ast.Constant)):
                found.append((str(value.args[0].value), "BoundedCache", None))
    return found


CACHES = _caches()


def test_the_inspection_finds_the_known_caches() -> None:
    names = {name for name, _, _ in CACHES}
    assert {"gmm_app.data._load_builtin", "gmm_app.your_data._parsed",
            "gmm_app.sharing.qr_svg"} <= names


@pytest.mark.parametrize(("name", "kind", "deco"), CACHES, ids=[c[0] for c in CACHES])
def test_every_cache_declares_its_bound(name: str, kind: str, deco: ast.expr | None) -> None:
    assert name in CACHE_BOUNDS, f"{name} ({kind}) has no row in gmm_app.bounded.CACHE_BOUNDS"
    declared = CACHE_BOUNDS[name]
    assert declared.max_entries > 0
    assert declared.max_entry_bytes > 0
    if deco is None:
        return
    assert kind.split(".")[-1] != "cache", f"{name}: functools.cache is unbounded"
    if kind.endswith("cache_data") or kind.endswith("cache_resource"):
        entries = _keyword(deco, "max_entries")
        assert entries is not None, f"{name}: st.cache_data without max_entries"
        assert ast.literal_eval(entries) == declared.max_entries
        assert _keyword(deco, "ttl") is not None, f"{name}: st.cache_data without ttl"
    else:
        size = _keyword(deco, "maxsize")
        if size is None and isinstance(deco, ast.Call) and deco.args:
            size = deco.args[0]
        assert size is not None, f"{name}: lru_cache without maxsize"
        value = ast.unparse(size)
        assert value != "None", f"{name}: lru_cache(maxsize=None) is unbounded"
        if value.isdigit():
            assert int(value) == declared.max_entries


def test_declared_rows_exist_in_the_code() -> None:
    names = {name for name, _, _ in CACHES} | {"gmm_app.engine.responsibilities",
                                               "gmm_app.engine.runs"}
    assert set(CACHE_BOUNDS) <= names, set(CACHE_BOUNDS) - names


def test_visitors_data_are_released_when_the_server_is_idle() -> None:
    from gmm_app import engine, janitor, your_data

    for cache in (your_data._parsed, your_data._preview, your_data._selection):
        assert cache.clear in janitor._clearers
    engine._RESPONSIBILITIES.get_or_compute(("test", 0), lambda: __import__("numpy").ones(10))
    assert len(engine._RESPONSIBILITIES) >= 1
    janitor.release_memory()
    assert len(engine._RESPONSIBILITIES) == 0
