"""The package's layers: each subpackage imports only itself and the ones below it.

The order is README.md's "What lives where", top to bottom; every import is read with `ast`, at
module level and inside functions, so a lazy import cannot climb a layer unseen either.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vggviz"
LAYERS = ("cli", "ui", "server", "network", "by_hand", "render", "sources", "plan")
"""Top to bottom: a module may import its own layer and those after it in this tuple."""


def _layer_of(module: str) -> str | None:
    """The layer a dotted vggviz module belongs to ("vggviz.network.models" → "network");
    "top" for the package itself (its facade reaches every layer), None outside vggviz."""
    parts = module.split(".")
    if parts[0] != "vggviz":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "top"


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, dotted module) for every import in the file; `from a import b` gives "a.b" too,
    since b may be a submodule (`from vggviz import network`)."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def upward_imports(root: Path = ROOT) -> list[str]:
    """Every import in `root`/vggviz of a layer above the importer's own, as
    "file:line imports module (from → to)"."""
    rank = {layer: i for i, layer in enumerate(("top", *LAYERS))}
    bad = []
    for path in sorted((root / "vggviz").rglob("*.py")):
        own = _layer_of(_module_name(path, root))
        for line, module in _imports(path, root):
            layer = _layer_of(module)
            if layer is not None and rank[layer] < rank[own]:
                bad.append(f"{path.relative_to(root)}:{line} imports {module} ({own} → {layer})")
    return sorted(set(bad))


def test_the_layers_are_the_ones_readme_lists_in_that_order():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## What lives where", 1)[1].split("```")[1]
    listed = re.findall(r"^vggviz/(\w+)(?:\.py|/)", section, re.MULTILINE)
    assert tuple(listed) == LAYERS
    on_disk = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert on_disk | {"cli"} == set(LAYERS)


def test_no_module_imports_a_layer_above_its_own():
    assert upward_imports() == []


UI_ROOMS = ("dashboards", "panels", "parts")
"""ui/'s rooms, top to bottom: a dashboard is made of panels, a panel of parts."""


def upward_room_imports(root: Path = ROOT) -> list[str]:
    """Every import in vggviz/ui of a room above the importer's own, as "file:line imports
    module (from → to)"."""
    rank = {room: i for i, room in enumerate(UI_ROOMS)}
    bad = []
    for room in UI_ROOMS:
        for path in sorted((root / "vggviz" / "ui" / room).rglob("*.py")):
            for line, module in _imports(path, root):
                parts = module.split(".")
                if parts[:2] == ["vggviz", "ui"] and len(parts) > 2 and parts[2] in rank \
                        and rank[parts[2]] < rank[room]:
                    bad.append(f"{path.relative_to(root)}:{line} imports {module} "
                               f"({room} → {parts[2]})")
    return sorted(set(bad))


def test_ui_rooms_hold_every_module_and_no_room_imports_one_above_it():
    loose = sorted(p.name for p in (PACKAGE / "ui").glob("*.py") if p.name != "__init__.py")
    assert loose == [], "ui/ modules belong in a room: dashboards/, panels/ or parts/"
    assert upward_room_imports() == []


def test_the_room_check_catches_a_part_that_imports_a_panel(tmp_path):
    fake = tmp_path / "vggviz" / "ui" / "parts"
    fake.mkdir(parents=True)
    (fake / "a.py").write_text("def f():\n    from vggviz.ui.panels import pattern_view\n")
    assert upward_room_imports(tmp_path) != []


def test_keras_and_tensorflow_stay_above_the_numpy_layers():
    """README: `network` is where Keras and TensorFlow live; by_hand, render, sources and plan
    work without them (the stem explorer's first view imports no TensorFlow)."""
    below = LAYERS[LAYERS.index("network") + 1:]
    found = [f"{path.relative_to(ROOT)}:{line} imports {module}"
             for layer in below for path in sorted((PACKAGE / layer).rglob("*.py"))
             for line, module in _imports(path, ROOT)
             if module.split(".")[0] in ("keras", "tensorflow")]
    assert found == []


@pytest.mark.parametrize(("where", "code", "caught"), [
    ("plan/a.py", "import vggviz.sources.images\n", True),
    ("sources/a.py", "def f():\n    from vggviz.network import layers\n", True),
    ("sources/a.py", "def f():\n    import vggviz.network.layers  # lazy\n", True),
    ("render/a.py", "from vggviz import network\n", True),
    ("render/a.py", "from vggviz import summarize\n", True),  # the facade is above every layer
    ("render/a.py", "from ..ui import widgets\n", True),
    ("ui/a.py", "from . import widgets\nfrom ..plan import architecture\n", False),
    ("network/a.py", "from vggviz.sources.images import load_image\nimport numpy\n", False),
])
def test_the_check_catches_an_upward_import_anywhere(tmp_path, where, code, caught):
    """The check itself, on a made-up package: it must see function-level and relative imports."""
    fake = tmp_path / "vggviz"
    (fake / where).parent.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / where).parent.joinpath("__init__.py").write_text("")
    (fake / where).write_text(code)
    assert bool(upward_imports(tmp_path)) is caught, upward_imports(tmp_path)
