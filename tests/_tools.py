"""Load a script of ``tools/`` (not a package) as a module, for its tests."""
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def load_tool(name: str) -> ModuleType:
    """``tools/<name>.py`` imported under ``name`` (registered in ``sys.modules`` first, so that
    its dataclasses and pickling resolve the module)."""
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    module = sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module
