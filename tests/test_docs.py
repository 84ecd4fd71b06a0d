"""Every hook is documented: a heading per hookspec in docs/plugins.md, and a docstring.

Like datasette's ``tests/test_docs.py``: the hook specifications are read from
:mod:`comptoir.core.hookspecs` through pluggy itself, so a new hook without its section in the
plugin developer's guide fails here, naming the hook. No database needed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pluggy
import pytest

from comptoir.core import hookspecs

DOCS = Path(__file__).parent.parent / "docs" / "plugins.md"
HEADING = re.compile(r"^### (comptoir_\w+)\((.*)\)\s*$", re.MULTILINE)
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _hook_specs() -> dict[str, pluggy.HookCaller]:
    pm = pluggy.PluginManager("comptoir")
    pm.add_hookspecs(hookspecs)
    return {
        name: caller
        for name, caller in sorted(pm.hook.__dict__.items())
        if name.startswith("comptoir_") and caller.spec is not None
    }


HOOKS = _hook_specs()


@pytest.fixture(scope="module")
def docs() -> str:
    return DOCS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def headings(docs: str) -> dict[str, str]:
    """``{hook name: argument list}`` of every ``### comptoir_...(...)`` heading."""
    return {name: args for name, args in HEADING.findall(docs)}


def test_hookspecs_found() -> None:
    assert HOOKS, "no hook specification found in comptoir.core.hookspecs"
    assert all(
        getattr(getattr(hookspecs, name), "comptoir_spec", None) is not None for name in HOOKS
    )


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_hook_is_documented(hook: str, docs: str) -> None:
    assert f"\n### {hook}(" in docs, f"docs/plugins.md has no '### {hook}(...)' section"


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_documented_arguments_match_the_spec(hook: str, headings: dict[str, str]) -> None:
    if hook not in headings:
        pytest.skip("undocumented: test_hook_is_documented reports it")
    documented = tuple(a.strip() for a in headings[hook].split(",") if a.strip())
    assert documented == HOOKS[hook].spec.argnames


def test_no_documentation_for_hooks_that_do_not_exist(headings: dict[str, str]) -> None:
    assert sorted(set(headings) - set(HOOKS)) == []


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_hookspec_has_docstring(hook: str) -> None:
    doc = HOOKS[hook].spec.function.__doc__
    assert doc and doc.strip(), f"{hook} has no docstring"


@pytest.mark.parametrize(
    "hook", sorted(h for h, caller in HOOKS.items() if caller.spec.opts.get("firstresult"))
)
def test_firstresult_hooks_say_so(hook: str) -> None:
    doc = HOOKS[hook].spec.function.__doc__ or ""
    assert "firstresult" in doc or "stops at the first" in doc, (
        f"{hook} is firstresult=True but its docstring does not say so"
    )


def test_examples_implement_real_hooks_with_real_arguments(docs: str) -> None:
    """Each ``@hookimpl def comptoir_...`` example names a hook and takes only its arguments."""
    checked = 0
    for block in PYTHON_BLOCK.findall(docs):
        tree = ast.parse(block)
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("comptoir_"):
                continue
            assert node.name in HOOKS, f"example implements unknown hook {node.name}"
            args = [a.arg for a in node.args.args]
            assert set(args) <= set(HOOKS[node.name].spec.argnames), (
                f"example of {node.name} takes {args}"
            )
            checked += 1
    assert checked >= len(HOOKS)


def test_examples_import_only_what_the_toolkit_offers(docs: str) -> None:
    from comptoir import toolkit

    for block in PYTHON_BLOCK.findall(docs):
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and node.module == "comptoir.toolkit":
                missing = {a.name for a in node.names} - set(toolkit.__all__)
                assert not missing, f"comptoir.toolkit has no {sorted(missing)}"
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("comptoir"):
                assert node.module == "comptoir.migrations.rls", (
                    f"examples must import from comptoir.toolkit, not {node.module}"
                )


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_hook_table_links_to_the_hooks_own_section(hook: str, docs: str) -> None:
    """The summary table has a row per hook, and its link lands on that hook's heading."""
    assert f"| [`{hook}`](#{hook}) |" in docs, f"docs/plugins.md's table has no row for {hook}"
    assert f'<a id="{hook}"></a>\n### {hook}(' in docs, (
        f"the anchor #{hook} is missing or not right above the '### {hook}(' heading"
    )
