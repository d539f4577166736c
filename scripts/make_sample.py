"""Write the sample conda package that ships with the repository (``samples/``).

The sample is an *extracted* package directory (the form conda keeps in its package
cache), so that it is plain text under version control and condawheel converts it like
any ``.conda`` or ``.tar.bz2``. Run this script after changing the sample's contents; a
test checks that the committed sample is what this script writes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

NAME, VERSION, BUILD = "hello-condawheel", "1.0.0", "pyh4616a5c_0"
PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"
SITE = "site-packages"
DIST_INFO = f"{SITE}/hello_condawheel-{VERSION}.dist-info"

PAYLOAD: dict[str, tuple[str, int]] = {
    f"{SITE}/hello_condawheel/__init__.py": (
        (
            '"""A tiny package converted by condawheel\'s README example."""\n\n'
            "import sys\n\n\n"
            "def main() -> int:\n"
            '    """Greet from whichever Python runs us."""\n'
            '    print(f"hello from {sys.prefix}")\n'
            "    return 0\n"
        ),
        0o644,
    ),
    f"{DIST_INFO}/METADATA": (
        (
            "Metadata-Version: 2.1\n"
            "Name: hello-condawheel\n"
            f"Version: {VERSION}\n"
            "Summary: The sample package of condawheel's README\n"
            "Requires-Python: >=3.9\n"
            'Requires-Dist: colorama; platform_system == "Windows"\n'
        ),
        0o644,
    ),
    f"{DIST_INFO}/entry_points.txt": (
        "[console_scripts]\nhello-condawheel = hello_condawheel:main\n",
        0o644,
    ),
    f"{DIST_INFO}/INSTALLER": ("conda\n", 0o644),
    f"{DIST_INFO}/RECORD": ("hello_condawheel/__init__.py,,\n", 0o644),
    "share/hello-condawheel/hello.conf": (f"prefix = {PLACEHOLDER}\n", 0o644),
}
INFO = {
    "index.json": {
        "name": NAME,
        "version": VERSION,
        "build": BUILD,
        "build_number": 0,
        "subdir": "noarch",
        "noarch": "python",
        "depends": ["python >=3.9", "colorama", "zlib >=1.2.13,<2.0a0"],
        "license": "BSD-3-Clause",
        "timestamp": 1735689600000,
    },
    "link.json": {
        "noarch": {"type": "python", "entry_points": ["hello-condawheel = hello_condawheel:main"]},
        "package_metadata_version": 1,
    },
    "about.json": {
        "summary": "The sample package of condawheel's README",
        "home": "https://github.com/condawheel/condawheel",
        "license": "BSD-3-Clause",
    },
}


def write(root: Path) -> Path:
    """Write the sample package under ``root`` and return its directory."""
    package = root / f"{NAME}-{VERSION}-{BUILD}"
    if package.exists():
        shutil.rmtree(package)
    paths = []
    for path, (text, mode) in sorted(PAYLOAD.items()):
        data = text.encode()
        target = package / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(mode)
        entry: dict[str, object] = {
            "_path": path,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_in_bytes": len(data),
        }
        if PLACEHOLDER in text:
            entry.update(prefix_placeholder=PLACEHOLDER, file_mode="text")
        paths.append(entry)
    info = package / "info"
    info.mkdir()
    documents = {**INFO, "paths.json": {"paths_version": 1, "paths": paths}}
    for name, document in documents.items():
        (info / name).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    (info / "files").write_text("".join(f"{path}\n" for path in sorted(PAYLOAD)))
    return package


if __name__ == "__main__":
    destination = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent.parent / "samples"
    )
    print(write(destination))
