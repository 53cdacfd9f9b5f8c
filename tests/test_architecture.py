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
                                             "mailbox.py", "config.py")]
    heavy = {"torch", "onnxruntime", "PySide6", "pyqtgraph", "pyrealsense2", "models"}
    assert offenders([f for f in foundation if f.exists()], heavy) == []


def test_websockets_and_osc_only_in_the_streaming_package():
    assert offenders(files_under("app"), {"websockets", "pythonosc"}, ("app/streaming/",)) == []


def test_the_streaming_package_never_imports_qt_or_the_gui():
    assert offenders(files_under("app/streaming"), {"PySide6", "pyqtgraph", "OpenGL", "app.gui"}) == []
