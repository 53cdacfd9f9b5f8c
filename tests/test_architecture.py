"""Dependency rules of the codebase, checked by parsing imports (architecture.md, README "Architecture")."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def files_under(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


def offenders(files, forbidden: set[str], allowed_prefix: tuple[str, ...] = ()) -> list[str]:
    out = []
    for f in files:
        rel = f.relative_to(ROOT).as_posix()
        if allowed_prefix and rel.startswith(allowed_prefix):
            continue
        bad = {n for n in imports_of(f) if top(n) in forbidden or n in forbidden}
        if bad:
            out.append(f"{rel}: {sorted(bad)}")
    return out


def test_runtime_never_imports_torch_or_models():
    assert offenders(files_under("app") + [ROOT / "run_tracker.py"], {"torch", "models"}) == []


def test_qt_only_in_the_gui_package():
    assert offenders(files_under("app"), {"PySide6", "pyqtgraph", "OpenGL"}, ("app/gui/",)) == []


def test_pyrealsense2_only_in_sources_and_calibration_command():
    assert offenders(files_under("app"), {"pyrealsense2"}, ("app/sources/", "app/calibration.py")) == []


def test_onnxruntime_only_in_the_estimator():
    allowed = ("app/tracking/estimator.py",)
    assert offenders(files_under("app"), {"onnxruntime"}, allowed) == []


def test_foundation_modules_import_numpy_level_code_only():
    foundation = [ROOT / "app" / f for f in ("joints.py", "camera.py", "types.py", "errors.py", "model_info.py",
                                             "mailbox.py", "config.py", "camera_calibration.py")]
    heavy = {"torch", "onnxruntime", "PySide6", "pyqtgraph", "pyrealsense2", "models"}
    assert offenders([f for f in foundation if f.exists()], heavy) == []


def test_websockets_and_osc_only_in_the_streaming_package():
    assert offenders(files_under("app"), {"websockets", "pythonosc"}, ("app/streaming/",)) == []


def test_the_streaming_package_never_imports_qt_or_the_gui():
    assert offenders(files_under("app/streaming"), {"PySide6", "pyqtgraph", "OpenGL", "app.gui"}) == []


# ---- the project's own layers ---------------------------------------------------------------------------------
# Data and dependencies run one way (docs/architecture.md): a module imports only from its own layer or lower
# ones, and the packages of layer 1 not from each other. Every import counts, also one inside a function.
FOUNDATION = ("app", "app.errors", "app.camera", "app.joints", "app.types", "app.model_info", "app.mailbox",
              "app.config", "app.camera_calibration")
LAYERS = [
    FOUNDATION,
    ("app.tracking", "app.synth", "app.recording"),
    ("app.sources",),
    ("app.runtime",),
    ("app.streaming",),
    ("app.gui",),
    ("app.cli", "app.calibration"),
]
PEERS_APART = {"app.tracking", "app.synth", "app.recording"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path, modules: set[str]) -> set[str]:
    """The app modules a file imports (absolute and relative, at any depth of the file). `from P import m`
    depends on the module P.m when there is one, else on P."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if top(a.name) == "app")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            if top(base) == "app":
                for a in node.names:
                    out.add(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base)
    return out


def app_modules() -> dict[str, Path]:
    return {module_name(p): p for p in files_under("app")}


def resolve(name: str, modules) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def layer_unit(name: str) -> tuple[int, str]:
    """(layer index, the unit within it: the package for packages, the module for foundation modules)."""
    for index, units in enumerate(LAYERS):
        for unit in sorted(units, key=len, reverse=True):
            if index == 0 and name == unit:
                return index, unit
            if index > 0 and (name == unit or name.startswith(unit + ".")):
                return index, unit
    raise AssertionError(f"{name} is in no layer: add it to LAYERS (and docs/architecture.md)")


def import_graph() -> dict[str, set[str]]:
    modules = app_modules()
    graph = {}
    for name, path in modules.items():
        targets = {resolve(n, modules) for n in project_imports(path, set(modules))}
        graph[name] = {t for t in targets if t and t != name}
    return graph


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for source, targets in sorted(graph.items()):
        s_layer, s_unit = layer_unit(source)
        for target in sorted(targets):
            t_layer, t_unit = layer_unit(target)
            if t_layer > s_layer or (t_layer == s_layer and s_unit != t_unit and s_unit in PEERS_APART):
                wrong.append(f"{source} -> {target}")
    return wrong


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_every_app_module_sits_in_a_layer():
    for name in app_modules():
        layer_unit(name)


def test_layers_import_only_downwards_and_peers_stay_apart():
    assert layer_violations(import_graph()) == []


def test_no_import_circles():
    assert import_cycles(import_graph()) == []


def test_the_checkers_find_an_upward_import_a_peer_import_and_a_circle():
    graph = {"app.tracking.crop": {"app.gui.theme", "app.synth.scene"}, "app.gui.theme": {"app.config"},
             "app.synth.scene": {"app.tracking.crop"}, "app.config": set()}
    assert layer_violations(graph) == ["app.synth.scene -> app.tracking.crop", "app.tracking.crop -> app.gui.theme",
                                       "app.tracking.crop -> app.synth.scene"]
    assert import_cycles(graph) == [["app.synth.scene", "app.tracking.crop"]]
    assert layer_violations({"app.cli": {"app.gui.app"}, "app.gui.app": {"app.config"}}) == []
    assert layer_unit("app.camera_calibration") == (0, "app.camera_calibration")
    assert layer_unit("app.calibration") == (6, "app.calibration")


def test_the_real_graph_is_read():
    """Lazy (function-level) and relative imports count: the command line's lazy GUI import is seen."""
    graph = import_graph()
    assert "app.gui" in graph["app.cli"] and "app.config" in graph["app.tracking.tracker"]
    assert "app.gui.app" in graph["app.gui"]   # run_gui's import inside the function
