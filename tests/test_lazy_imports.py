"""Start-up: ``--version`` imports almost nothing; a conversion imports the libraries of the
formats it meets, not all of them.

The time itself is measured in benchmarks/ (bench_cli.py); these tests hold the imports
that the measured start-up depends on, so that a new top-level import fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

from builders import CondaSpec, FileSpec, build_conda, python_package

if TYPE_CHECKING:
    from pathlib import Path

_CONVERT_AND_LIST_MODULES = """
import json, sys
from pathlib import Path
from condawheel.convert import convert
from condawheel.convert.names import NameMapping

before = set(sys.modules)
result = convert(
    Path(sys.argv[1]), Path(sys.argv[2]), mapping=NameMapping.from_names({}, origin="test")
)
print(json.dumps({"before": sorted(before), "after": sorted(sys.modules)}))
"""


def _imported(package: Path, out: Path) -> tuple[set[str], set[str]]:
    """Return the top-level packages imported with ``condawheel.convert`` and by converting."""
    out.mkdir()
    run = subprocess.run(
        [sys.executable, "-c", _CONVERT_AND_LIST_MODULES, str(package), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = json.loads(run.stdout)
    assert len(list(out.glob("*.whl"))) == 1
    before = {name.split(".")[0] for name in modules["before"]}
    after = {name.split(".")[0] for name in modules["after"]}
    return before, after


def test_pyelftools_is_imported_by_the_first_elf_file_only(tmp_path: Path) -> None:
    site = "lib/python3.12/site-packages"
    pure = CondaSpec(
        name="pure",
        files=[
            FileSpec(f"{site}/pure/__init__.py", b"VALUE = 1\n"),
            FileSpec("share/pure/data.txt", b"text\n" * 100),
        ],
    )
    before, after = _imported(build_conda(pure, tmp_path), tmp_path / "pure-out")
    assert "elftools" not in before
    assert "elftools" not in after
    # A package with an ELF file (here a fake one: read, found malformed) brings it in.
    _before, after = _imported(build_conda(python_package(), tmp_path), tmp_path / "elf-out")
    assert "elftools" in after


def test_version_imports_neither_typer_nor_the_converter() -> None:
    script = (
        "import sys; from condawheel.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in "
        "{'typer', 'rich', 'elftools', 'yaml', 'packaging'} or name == 'condawheel.convert'))"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    version, loaded = run.stdout.splitlines()
    assert version.startswith("condawheel ")
    assert loaded == "[]"
