"""The loader's modules become one classic script; a mistake in them fails the build (issue 12)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rapport.wasm_build import loader_join
from rapport.wasm_build.loader_join import LoaderJoinError, join_loader, loader_modules

CONCERNS = {"capture.js", "boot.js", "hints.js", "rights.js", "camera.js"}


def _tree(tmp_path: Path, modules: dict[str, str]) -> Path:
    for name, source in modules.items():
        (tmp_path / name).write_text(source)
    return tmp_path


def test_every_module_of_src_loader_is_joined_and_the_entry_runs_last() -> None:
    order = loader_modules()
    shipped = {path.name for path in loader_join.LOADER_DIR.glob("*.js")}
    assert set(order) == shipped and shipped >= CONCERNS
    assert order[-1] == loader_join.ENTRY
    joined = join_loader()
    assert re.findall(r"^// (\w+\.js)$", joined, re.MULTILINE) == order


def test_each_module_comes_after_the_modules_it_imports_as_es_modules_would_run(
    tmp_path: Path,
) -> None:
    tree = {
        "main.js": 'import { b } from "./b.js";\nimport { a } from "./a.js";\nb(a);\n',
        "a.js": "export const a = 1;\n",
        "b.js": 'import { a } from "./a.js";\nexport const b = (x) => x + a;\n',
    }
    assert loader_modules(_tree(tmp_path, tree)) == ["a.js", "b.js", "main.js"]


def test_the_joined_loader_is_one_closure_without_import_or_export(tmp_path: Path) -> None:
    tree = {
        "main.js": 'import { a, f } from "./a.js";\nif (a) f();\n',
        "a.js": "export const a = 1;\nexport let f = () => {};\nconst g = 2;\n",
    }
    joined = join_loader(_tree(tmp_path, tree))
    assert joined.startswith("(function () {\n") and joined.endswith("})();\n")
    assert not re.search(r"^\s*(import|export)\b", joined, re.MULTILINE)
    # One closure: top-level bindings are the closure's vars, as the hand-written loader had them.
    assert "var a = 1;\nvar f = () => {};\nvar g = 2;" in joined


def test_a_module_nothing_imports_fails_the_join(tmp_path: Path) -> None:
    tree = {"main.js": "run();\n", "camera.js": "export const camera = 1;\n"}
    with pytest.raises(LoaderJoinError, match=r"camera\.js: not imported from main\.js"):
        join_loader(_tree(tmp_path, tree))


def test_two_modules_declaring_one_name_fail_the_join(tmp_path: Path) -> None:
    tree = {
        "main.js": 'import { a } from "./a.js";\nconst timer = a;\n',
        "a.js": "export const a = 1;\nlet timer = 0;\n",
    }
    with pytest.raises(LoaderJoinError, match=r"both declare 'timer'"):
        join_loader(_tree(tmp_path, tree))


def test_importing_a_name_the_module_does_not_export_fails_the_join(tmp_path: Path) -> None:
    tree = {"main.js": 'import { b } from "./a.js";\nb();\n', "a.js": "const b = 1;\n"}
    with pytest.raises(LoaderJoinError, match=r"main\.js imports 'b', which a\.js does not export"):
        join_loader(_tree(tmp_path, tree))


@pytest.mark.parametrize(
    ("source", "refused"),
    [
        ('import { a as b } from "./a.js";\n', "aliases"),
        ('import a from "./a.js";\n', "only `import"),
        ('import * as a from "./a.js";\n', "only `import"),
        ('import "./a.js";\n', "only `import"),
    ],
)
def test_only_named_imports_of_sibling_modules_are_joined(
    tmp_path: Path, source: str, refused: str
) -> None:
    tree = {"main.js": source, "a.js": "export const a = 1;\n"}
    with pytest.raises(LoaderJoinError, match=re.escape(refused)):
        join_loader(_tree(tmp_path, tree))


@pytest.mark.parametrize(
    "export", ["export function a() {}\n", "export default 1;\n", "export { a };\n"]
)
def test_only_export_const_and_let_are_joined(tmp_path: Path, export: str) -> None:
    tree = {"main.js": 'import { b } from "./a.js";\nb();\n', "a.js": f"const a = 1;\n{export}"}
    with pytest.raises(LoaderJoinError, match="only `export const`"):
        join_loader(_tree(tmp_path, tree))


def test_a_dynamic_import_is_code_not_a_module_to_join(tmp_path: Path) -> None:
    tree = {"main.js": 'const addOn = (name) => import(name);\naddOn("x.mjs");\n'}
    assert "import(name)" in join_loader(_tree(tmp_path, tree))
