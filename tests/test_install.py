"""condawheel install: decisions and checks, staging and relocation, and the proof in real envs.

The unit part installs hand-made wheels into a small conda-like prefix whose interpreter is
the machine's CPython 3.12 (linked in, as the corpus README describes). The proof part
(``slow``) builds real conda environments with py-rattler from the corpus channel, syncs
environment A into a wheelhouse (``condawheel sync A``), and installs into environment B with
``condawheel install``.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from conda_envs import (
    ENV_A_SPECS,
    ENV_B_SPECS,
    CondaEnvironments,
    conda_environments,
    find_python312,
    link_python_into,
)
from condawheel.convert import convert
from condawheel.convert.names import default_mapping
from condawheel.env.environment import open_environment
from condawheel.env.install import (
    InstallOptions,
    apply_installation,
    decide_for_environment,
    install_requirements,
)
from condawheel.env.resolve import PackageSource
from condawheel.env.wheels import read_wheel
from condawheel.errors import ExternalDependencyError, InstallError
from env_support import (
    PLACEHOLDER,
    SITE,
    ZSTD,
    WheelSpec,
    assert_record_true,
    conda_record,
    damage_member,
    deflated_wheel,
    install,
    make_wheel,
    prefix,
    sidecar,
    zstd_fork_wheelhouse,
)

__all__ = ["conda_environments", "prefix"]  # fixtures, imported for pytest


# --------------------------------------------------------------------------------------------
# A small conda-like prefix, and helpers
# --------------------------------------------------------------------------------------------


def demo_spec(**overrides: object) -> WheelSpec:
    """A wheel with every kind of thing condawheel install must take care of."""
    library = b"\x7fELF\x00" + PLACEHOLDER.encode() + b"/share/demo\x00tail"
    spec = WheelSpec(
        name="demo",
        files={
            "demo/__init__.py": b"def main():\n    print('demo works')\n",
            "{data}/data/lib/pkgconfig/demo.pc": f"prefix={PLACEHOLDER}\n".encode(),
            "{data}/data/lib/libdemo.so.1.0": library,
            "{data}/data/lib/libdemo.so.1": library,  # a 'file' symlink, stored as a copy
            "{data}/scripts/demo-config": f"#!{PLACEHOLDER}/bin/sh\necho {PLACEHOLDER}\n".encode(),
            "{data}/data/share/demo/readme": b"hi\n",
        },
        executables={"{data}/scripts/demo-config"},
        console_scripts={"demo": "demo:main"},
        requires_external=["libgcc (>=13)"],
        sidecar=sidecar(
            placeholders=[
                {
                    "path": "lib/pkgconfig/demo.pc",
                    "wheel_path": "demo-1.0.data/data/lib/pkgconfig/demo.pc",
                    "placeholder": PLACEHOLDER,
                    "file_mode": "text",
                },
                {
                    "path": "lib/libdemo.so.1.0",
                    "wheel_path": "demo-1.0.data/data/lib/libdemo.so.1.0",
                    "placeholder": PLACEHOLDER,
                    "file_mode": "binary",
                },
                {
                    "path": "bin/demo-config",
                    "wheel_path": "demo-1.0.data/scripts/demo-config",
                    "placeholder": PLACEHOLDER,
                    "file_mode": "text",
                },
            ],
            symlinks=[
                {
                    "path": "lib/libdemo.so.1",
                    "wheel_path": "demo-1.0.data/data/lib/libdemo.so.1",
                    "target": "libdemo.so.1.0",
                    "kind": "file",
                },
                {
                    "path": "lib/libgcc.so",
                    "wheel_path": None,
                    "target": "libgcc_s.so.1",
                    "kind": "external",
                },
                {
                    "path": "share/demo-docs",
                    "wheel_path": None,
                    "target": "demo",
                    "kind": "directory",
                },
            ],
            directories=["share/demo/empty"],
        ),
    )
    for key, value in overrides.items():
        setattr(spec, key, value)
    return spec


# --------------------------------------------------------------------------------------------
# Installing: relocation, links, RECORD, bytecode
# --------------------------------------------------------------------------------------------


def test_install_relocates_restores_links_and_keeps_record_true(
    prefix: Path, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path / "wh", demo_spec())
    environment, relocated = install(prefix, [wheel])
    root = Path(environment.facts.prefix)
    assert (root / "lib/pkgconfig/demo.pc").read_text() == f"prefix={root}\n"
    library = (root / "lib/libdemo.so.1.0").read_bytes()
    assert len(library) == len(b"\x7fELF\x00" + PLACEHOLDER.encode() + b"/share/demo\x00tail")
    assert library.startswith(b"\x7fELF\x00" + f"{root}/share/demo".encode() + b"\x00\x00")
    assert PLACEHOLDER.encode() not in library
    script = root / "bin/demo-config"
    assert script.read_text() == f"#!{root}/bin/sh\necho {root}\n"
    assert os.access(script, os.X_OK)
    assert sorted(path.name for path in relocated) == ["demo-config", "demo.pc", "libdemo.so.1.0"]
    assert (root / "lib/libdemo.so.1").readlink().as_posix() == "libdemo.so.1.0"
    assert (root / "lib/libgcc.so").readlink().as_posix() == "libgcc_s.so.1"
    assert (root / "lib/libgcc.so").read_bytes() == b"\x7fELF gcc"
    assert (root / "share/demo-docs").readlink().as_posix() == "demo"
    assert (root / "share/demo/empty").is_dir()
    entry_point = subprocess.run(
        [str(root / "bin/demo")], capture_output=True, text=True, check=True
    )
    assert entry_point.stdout == "demo works\n"
    dist_info = root / SITE / "demo-1.0.dist-info"
    rows = assert_record_true(dist_info)
    listed = {os.path.relpath(dist_info.parent / row[0], root) for row in rows}
    assert {"lib/libdemo.so.1", "lib/libgcc.so", "share/demo-docs", "bin/demo"} <= listed
    # Bytecode by the environment's interpreter (3.12), not the one running condawheel.
    assert f"{SITE}/demo/__pycache__/__init__.cpython-312.pyc" in listed
    assert (dist_info / "INSTALLER").read_text() == "condawheel\n"
    assert (dist_info / "REQUESTED").exists()
    assert not list(root.glob(".condawheel-staging-*"))


def test_a_link_with_a_name_of_the_longest_length_is_restored(prefix: Path, tmp_path: Path) -> None:
    # A link whose copy is in the wheel: the copy was set aside under the link's name plus
    # '.condawheel-copy', longer than the 255 bytes a file name may have: a traceback.
    name = "l" * 255
    link: dict[str, str | None] = {
        "path": f"lib/{name}", "wheel_path": f"longlink-1.0.data/data/lib/{name}",
        "target": "target.so", "kind": "file",
    }  # fmt: skip
    spec = WheelSpec(
        name="longlink",
        files={"{data}/data/lib/target.so": b"body", "{data}/data/lib/" + name: b"body"},
        sidecar=sidecar(symlinks=[link]),
    )
    environment, _ = install(prefix, [make_wheel(tmp_path, spec)])
    restored = Path(environment.facts.prefix) / "lib" / name
    assert restored.readlink().as_posix() == "target.so"
    # Nothing else is left beside it (the conda packages' libraries were there before).
    assert sorted(path.name for path in restored.parent.iterdir()) == sorted(
        [name, "target.so", "python3.12", "libgcc_s.so.1", "libzstd.so.1"]
    )


@pytest.mark.parametrize(
    ("directory", "message"),
    [
        (
            f"{SITE}/clash-1.0.dist-info/METADATA",
            (
                f"would overwrite {SITE}/clash-1.0.dist-info/METADATA: conda.json makes it a "
                "directory, but clash-1.0-0_h0-py3-none-conda_linux_64.whl writes a file there"
            ),
        ),
        (
            f"{SITE}/clash/__init__.py/below",
            (
                "clash-1.0-0_h0-py3-none-conda_linux_64.whl: cannot stage it: [Errno 20] Not a "
                "directory: "
            ),
        ),
    ],
    ids=["on-a-file", "below-a-file"],
)
def test_a_directory_of_conda_json_where_the_wheel_has_a_file_is_one_line(
    prefix: Path, tmp_path: Path, directory: str, message: str
) -> None:
    # Found by tests/property/test_hostile_archives.py: a package whose empty directory is
    # named like the METADATA its wheel gets converts, and installing it was a traceback.
    spec = WheelSpec(
        name="clash",
        files={"clash/__init__.py": b""},
        sidecar=sidecar(directories=[directory]),
    )
    before = sorted(prefix.rglob("*"))
    with pytest.raises(InstallError) as caught:
        install(prefix, [make_wheel(tmp_path, spec)])
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert sorted(prefix.rglob("*")) == before


def test_a_link_whose_name_no_file_system_holds_is_a_warning(prefix: Path, tmp_path: Path) -> None:
    # Found by tests/property/test_hostile_archives.py: a link to another package's file,
    # named with 256 bytes, cannot be made (a warning, as any link that cannot be); then
    # writing RECORD asked whether it was a link, and the install ended in a traceback
    # after its files were in place.
    name = "n" * 256
    link: dict[str, str | None] = {
        "path": f"lib/{name}", "wheel_path": None, "target": "libzstd.so.1", "kind": "external",
    }  # fmt: skip
    spec = WheelSpec(name="toolong", files={"toolong.py": b""}, sidecar=sidecar(symlinks=[link]))
    environment = open_environment(prefix, system_config=None)
    installation = decide_for_environment(
        environment, [(read_wheel(make_wheel(tmp_path, spec)), True)]
    )
    _, _, warnings = apply_installation(installation, environment.facts)
    assert [warning.split(": [Errno")[0] for warning in warnings] == [
        f"could not create the symlink {environment.prefix}/lib/{name}"
    ]
    rows = assert_record_true(environment.prefix / SITE / "toolong-1.0.dist-info")
    assert f"../../../lib/{name}" not in [row[0] for row in rows]


def test_refuses_to_overwrite_a_conda_owned_file(prefix: Path, tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        WheelSpec(
            name="clobber",
            files={"{data}/data/lib/libzstd.so.1": b"NOT ZSTD", "clobber/__init__.py": b""},
        ),
    )
    with pytest.raises(InstallError) as caught:
        install(prefix, [wheel])
    assert "lib/libzstd.so.1" in caught.value.reason
    assert f"belongs to the conda package {ZSTD}" in caught.value.reason
    assert (prefix / "lib/libzstd.so.1").read_bytes() == b"\x7fELF zstd"
    assert not (prefix / SITE / "clobber").exists()  # nothing of it was written


def test_refuses_existing_files_and_double_claims(prefix: Path, tmp_path: Path) -> None:
    (prefix / "share").mkdir()
    (prefix / "share" / "stray").write_text("mine")
    one = make_wheel(tmp_path, WheelSpec(name="one", files={"{data}/data/share/stray": b"x"}))
    with pytest.raises(InstallError, match="belongs to no distribution being replaced"):
        install(prefix, [one])
    two = make_wheel(tmp_path, WheelSpec(name="two", files={"{data}/data/share/same": b"2"}))
    three = make_wheel(tmp_path, WheelSpec(name="three", files={"{data}/data/share/same": b"3"}))
    with pytest.raises(
        InstallError, match=r"three-1\.0.*installs it too|two-1\.0.*installs it too"
    ):
        install(prefix, [two, three])


def test_refuses_to_write_into_conda_meta(prefix: Path, tmp_path: Path) -> None:
    forged = WheelSpec(name="forged", files={"{data}/data/conda-meta/x-1-0.json": b"{}"})
    with pytest.raises(InstallError, match="conda-meta/ is conda's record"):
        install(prefix, [make_wheel(tmp_path, forged)])
    assert not (prefix / "conda-meta/x-1-0.json").exists()


def test_a_distribution_installed_at_that_version_is_kept(prefix: Path, tmp_path: Path) -> None:
    install(prefix, [make_wheel(tmp_path / "a", WheelSpec(name="kept", files={"kept.py": b""}))])
    rebuilt = WheelSpec(name="kept", build="1_h1", files={"kept.py": b"# other build\n"})
    environment = open_environment(prefix, system_config=None)
    installation = decide_for_environment(
        environment, [(read_wheel(make_wheel(tmp_path / "b", rebuilt)), True)]
    )
    assert installation.installs == ()
    assert [(item.name, item.installed_by) for item in installation.already] == [
        ("kept", "condawheel")
    ]


def test_refuses_symlinks_leaving_the_environment(prefix: Path, tmp_path: Path) -> None:
    spec = WheelSpec(
        name="escape",
        sidecar=sidecar(
            symlinks=[
                {
                    "path": "lib/evil",
                    "wheel_path": None,
                    "target": "../../../etc",
                    "kind": "directory",
                }
            ]
        ),
    )
    with pytest.raises(InstallError, match="points outside the environment"):
        install(prefix, [make_wheel(tmp_path, spec)])


def _links_out(prefix: Path, outside: Path) -> list[dict[str, str | None]]:
    """Two links that look inside as text and lead to ``outside`` on disk (issue 16, 1).

    ``c0/.../cN/up`` climbs back to the prefix; ``share/evil`` goes down to ``up`` and
    climbs from there as many levels as it went down, which as text ends in the prefix,
    but from ``up``'s target (the prefix itself) reaches the root and then ``outside``.
    """
    depth = len(prefix.parts) - 1
    chain = "/".join(f"c{n}" for n in range(depth))
    to_outside = "../" * (depth + 1) + outside.relative_to(outside.anchor).as_posix()
    return [
        {"path": f"{chain}/up", "wheel_path": None, "target": "/".join([".."] * depth),
         "kind": "directory"},
        {"path": "share/evil", "wheel_path": None, "target": f"../{chain}/up/{to_outside}",
         "kind": "directory"},
    ]  # fmt: skip


def _plant(prefix: Path, links: list[dict[str, str | None]]) -> None:
    """Put links on disk, as an earlier install (or anyone) could have left them."""
    for link in links:
        path = prefix / str(link["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(str(link["target"]))


def test_refuses_a_chain_of_links_that_leads_outside(prefix: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = open_environment(prefix, system_config=None).prefix
    links = _links_out(root, outside)
    spec = WheelSpec(name="chain", files={"chain.py": b""}, sidecar=sidecar(symlinks=links))
    with pytest.raises(InstallError) as caught:
        install(prefix, [make_wheel(tmp_path / "w", spec)])
    assert f"symlink 'share/evil' -> {links[1]['target']!r} points outside the environment" in str(
        caught.value
    )
    assert not (root / "share").exists()
    assert not (root / SITE / "chain.py").exists()
    # As text the target stays inside: the check must follow the links, not the text.
    text = os.path.normpath(root / "share" / str(links[1]["target"]))
    assert Path(text).is_relative_to(root)


def test_never_writes_through_a_link_that_leads_outside(prefix: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = open_environment(prefix, system_config=None).prefix
    _plant(root, _links_out(root, outside))
    assert (root / "share/evil").resolve() == outside.resolve()  # the trap is armed
    spec = WheelSpec(name="through", files={"{data}/data/share/evil/x.txt": b"pwned"})
    with pytest.raises(InstallError) as caught:
        install(prefix, [make_wheel(tmp_path / "w", spec)])
    assert (
        "through-1.0-0_h0-py3-none-conda_linux_64.whl would write share/evil/x.txt outside "
        "the environment: a symbolic link on the way leads out of it"
    ) in str(caught.value)
    assert list(outside.iterdir()) == []


def test_a_link_that_appears_after_deciding_is_refused_at_commit(
    prefix: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    environment = open_environment(prefix, system_config=None)
    root = environment.prefix
    spec = WheelSpec(name="late", files={"late.py": b"", "{data}/data/share/late/x.txt": b"x"})
    installation = decide_for_environment(
        environment, [(read_wheel(make_wheel(tmp_path / "w", spec)), True)]
    )
    (root / "share").mkdir()
    (root / "share/late").symlink_to(outside)
    before = sorted(str(path.relative_to(root)) for path in root.rglob("*"))
    with pytest.raises(InstallError, match="a symbolic link on the way leads out of it"):
        apply_installation(installation, environment.facts)
    assert list(outside.iterdir()) == []
    assert sorted(str(path.relative_to(root)) for path in root.rglob("*")) == before


def test_the_owner_of_the_file_a_link_leads_to_counts(prefix: Path, tmp_path: Path) -> None:
    alias = {"path": "share/alias", "wheel_path": None, "target": "../lib", "kind": "directory"}
    spec = WheelSpec(
        name="alias",
        files={"{data}/data/share/alias/libzstd.so.1": b"NOT ZSTD"},
        sidecar=sidecar(symlinks=[alias]),
    )
    with pytest.raises(InstallError) as caught:
        install(prefix, [make_wheel(tmp_path / "new", spec)])
    assert (
        "would overwrite share/alias/libzstd.so.1 (that is lib/libzstd.so.1): it belongs to "
        f"the conda package {ZSTD}"
    ) in str(caught.value)
    # The same with the link already on disk.
    root = open_environment(prefix, system_config=None).prefix
    _plant(root, [alias])
    spec.sidecar = None
    with pytest.raises(
        InstallError, match=f"that is lib/libzstd.so.1\\): it belongs to the conda package {ZSTD}"
    ):
        install(prefix, [make_wheel(tmp_path / "disk", spec)])
    assert (root / "lib/libzstd.so.1").read_bytes() == b"\x7fELF zstd"


def test_refuses_a_member_that_traverses_with_backslashes(prefix: Path, tmp_path: Path) -> None:
    """On Linux ``..\\..\\x`` would land under that literal name; on Windows, outside."""
    spec = WheelSpec(name="slashed", files={"slashed.py": b"", "..\\..\\x": b"escaped"})
    wheel = make_wheel(tmp_path / "w", spec)
    before = sorted(prefix.rglob("*"))
    with pytest.raises(InstallError) as caught:
        install(prefix, [wheel])
    message = str(caught.value)
    assert "\n" not in message
    assert f"{wheel.name}: '..\\\\..\\\\x' would be written outside" in message
    assert sorted(prefix.rglob("*")) == before


def test_external_dependencies(prefix: Path, tmp_path: Path) -> None:
    needs = WheelSpec(
        name="needs",
        files={"needs/__init__.py": b""},
        requires_external=["libffi (>=3.4,<4.0a0)", "zstd (>=1.5.6,<1.5.7.0a0)", "libgcc (>=15)"],
        sidecar=sidecar(conda_name="needs"),
    )
    wheel = make_wheel(tmp_path / "a", needs)
    with pytest.raises(ExternalDependencyError) as caught:
        install(prefix, [wheel])
    reason = caught.value.reason
    assert (
        "needs 1.0 requires the conda package 'libffi >=3.4,<4.0a0', which is not installed"
        in reason
    )
    assert f"conda install --prefix {prefix} 'libffi >=3.4,<4.0a0'" in reason
    assert "'libgcc >=15', but the environment has libgcc-14.2.0-h77fa898_1" in reason
    assert "zstd" not in reason.replace(str(prefix), "")
    # A wheel converted from the missing conda package, installed along, satisfies it.
    libffi = WheelSpec(
        name="conda-pkg-libffi",
        version="3.4.2",
        files={"{data}/data/lib/libffi.so.8": b"\x7fELF ffi"},
        sidecar=sidecar(conda_name="libffi", conda_version="3.4.2"),
    )
    with pytest.raises(ExternalDependencyError, match="libgcc >=15"):
        install(prefix, [wheel, make_wheel(tmp_path / "b", libffi)])
    _, _ = install(prefix, [wheel, make_wheel(tmp_path / "b", libffi)], ignore_external=True)
    assert (prefix / "lib/libffi.so.8").read_bytes() == b"\x7fELF ffi"


def test_distributions_conda_installed_are_reported_not_reinstalled(
    prefix: Path, tmp_path: Path
) -> None:
    conda_record(
        prefix,
        "tqdm",
        "4.67.1",
        "pyhd8ed1ab_1",
        {f"{SITE}/tqdm-4.67.1.dist-info/METADATA": b"Name: tqdm\nVersion: 4.67.1\n"},
    )
    environment = open_environment(prefix, system_config=None)
    same = read_wheel(make_wheel(tmp_path / "a", WheelSpec(name="tqdm", version="4.67.1")))
    installation = decide_for_environment(environment, [(same, True)])
    assert installation.installs == ()
    assert [(item.name, item.installed_by, item.owner) for item in installation.already] == [
        ("tqdm", "conda", "tqdm-4.67.1-pyhd8ed1ab_1")
    ]
    other = read_wheel(make_wheel(tmp_path / "b", WheelSpec(name="tqdm", version="4.68")))
    with pytest.raises(InstallError, match="wheels never replace conda packages"):
        decide_for_environment(environment, [(other, True)])
    # A library wheel made from the very conda package conda installed: reported too.
    library = WheelSpec(
        name="conda-pkg-zstd",
        version="1.5.6",
        files={"{data}/data/lib/libzstd.so.1": b"zstd"},
        sidecar=sidecar(conda_name="zstd", conda_version="1.5.6", conda_build="ha6fb4c9_0"),
    )
    installation = decide_for_environment(
        environment, [(read_wheel(make_wheel(tmp_path / "c", library)), True)]
    )
    assert [item.owner for item in installation.already] == [ZSTD]
    library.sidecar = sidecar(conda_name="zstd", conda_version="1.5.5", conda_build="h0_0")
    library.version = "1.5.5"
    with pytest.raises(InstallError, match=f"but conda installed {ZSTD}"):
        decide_for_environment(
            environment, [(read_wheel(make_wheel(tmp_path / "d", library)), True)]
        )


def test_replacing_never_writes_through_hard_links(prefix: Path, tmp_path: Path) -> None:
    old = demo_spec(version="1.0")
    install(prefix, [make_wheel(tmp_path / "v1", old)])
    root = open_environment(prefix, system_config=None).prefix
    # Make an installed file share its inode with a "package cache" file, as conda does.
    cache = tmp_path / "cache-readme"
    os.link(root / "share/demo/readme", cache)
    new = demo_spec(version="2.0")
    new.files = {**new.files, "{data}/data/share/demo/readme": b"version two\n"}
    new.sidecar = json.loads(json.dumps(old.sidecar).replace("demo-1.0.data", "demo-2.0.data"))
    environment, _ = install(prefix, [make_wheel(tmp_path / "v2", new)])
    assert cache.read_bytes() == b"hi\n"  # the other link is untouched
    assert (root / "share/demo/readme").read_bytes() == b"version two\n"
    assert not (root / SITE / "demo-1.0.dist-info").exists()
    assert (
        environment.state.distributions[canonicalize_name("demo")].version == "1.0"
    )  # what was there before
    assert (
        open_environment(prefix, system_config=None)
        .state.distributions[canonicalize_name("demo")]
        .version
        == "2.0"
    )
    assert_record_true(root / SITE / "demo-2.0.dist-info")


def test_a_failed_commit_leaves_the_environment_as_it_was(prefix: Path, tmp_path: Path) -> None:
    old = demo_spec(version="1.0")
    install(prefix, [make_wheel(tmp_path / "v1", old)])
    environment = open_environment(prefix, system_config=None)
    root = environment.prefix
    before = sorted(str(path.relative_to(root)) for path in root.rglob("*"))
    new = demo_spec(version="2.0", files={"demo/__init__.py": b"", "demo/zzz_late.py": b"x = 1\n"})
    new.sidecar = None
    installation = decide_for_environment(
        environment, [(read_wheel(make_wheel(tmp_path / "v2", new)), True)]
    )
    (root / SITE / "demo" / "zzz_late.py").write_text("# appeared after deciding\n")
    with pytest.raises(InstallError, match="cannot place the files"):
        apply_installation(installation, environment.facts)
    (root / SITE / "demo" / "zzz_late.py").unlink()
    after = sorted(str(path.relative_to(root)) for path in root.rglob("*"))
    assert after == before
    assert (root / "lib/pkgconfig/demo.pc").read_text() == f"prefix={root}\n"


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ({"first_byte": 0xFF}, "Error -3 while decompressing data: invalid block type"),
        ({"method": 97}, "That compression method is not supported"),
    ],
    ids=["corrupt-deflate", "unknown-method"],
)
def test_installing_a_damaged_wheel_is_one_line_and_writes_nothing(
    prefix: Path, tmp_path: Path, damage: dict[str, int], reason: str
) -> None:
    # Issue 15: these escaped zipfile as zlib.error / NotImplementedError, a traceback.
    wheelhouse = tmp_path / "wheelhouse"
    wheel = deflated_wheel(wheelhouse, WheelSpec(name="demo", files={"demo/core.py": b"x = 1\n"}))
    damage_member(wheel, "demo/core.py", **damage)
    (wheelhouse / "stored").rename(tmp_path / "stored")  # pip must find only the damaged one
    before = sorted(prefix.rglob("*"))
    command = ["install", "demo", "--prefix", str(prefix), "--wheelhouse", str(wheelhouse)]
    run = subprocess.run(
        [sys.executable, "-m", "condawheel", *command],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "500"},
    )
    assert run.returncode == 1, run.stderr
    member = "damaged: member demo/core.py"
    assert run.stderr == f"error: {wheel.name}: cannot read the wheel: {member}: {reason}\n"
    assert sorted(prefix.rglob("*")) == before


def test_a_replacement_stopped_half_way_puts_the_old_files_back(
    prefix: Path, tmp_path: Path
) -> None:
    """Moving the old version aside stops at a folder a link now leads out of: undo all."""
    outside = tmp_path / "outside"
    outside.mkdir()
    old = demo_spec(version="1.0")
    install(prefix, [make_wheel(tmp_path / "v1", old)])
    environment = open_environment(prefix, system_config=None)
    root = environment.prefix
    new = demo_spec(version="2.0", files={"demo/__init__.py": b""}, sidecar=None)
    installation = decide_for_environment(
        environment, [(read_wheel(make_wheel(tmp_path / "v2", new)), True)]
    )
    # After deciding, share/demo becomes a link out of the environment holding a 'readme'.
    (root / "share/demo").rename(tmp_path / "moved-away")
    (outside / "readme").write_text("not the environment's")
    (root / "share/demo").symlink_to(outside)
    before = {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink()
    }
    with pytest.raises(InstallError, match="a symbolic link on the way leads out of it"):
        apply_installation(installation, environment.facts)
    after = {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink()
    }
    assert after == before
    assert (outside / "readme").read_text() == "not the environment's"
    assert not list(root.glob(".condawheel-staging-*"))


def test_python_scripts_run_from_a_prefix_with_a_space(tmp_path: Path) -> None:
    """A ``#!python`` script gets the /bin/sh trampoline where a shebang cannot hold the path."""
    spaced = tmp_path / "with space" / "env"
    link_python_into(spaced, find_python312())
    (spaced / "conda-meta").mkdir()
    spec = WheelSpec(
        name="tool",
        files={
            "tool.py": b"def main():\n    print('entry point runs')\n",
            "{data}/scripts/tool-script": b"#!python\nimport sys\nprint('script runs', sys.argv[1:])\n",
        },
        executables={"{data}/scripts/tool-script"},
        console_scripts={"tool-entry": "tool:main"},
    )
    environment, _ = install(spaced, [make_wheel(tmp_path / "w", spec)])
    bin_dir = environment.prefix / "bin"
    script = (bin_dir / "tool-script").read_bytes()
    python = shlex.quote(str(environment.facts.python))
    assert script.startswith(f"#!/bin/sh\n'''exec' {python} \"$0\" \"$@\"\n' '''\n".encode())
    done = subprocess.run(
        [str(bin_dir / "tool-script"), "a b"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout) == (0, "script runs ['a b']\n"), done.stderr
    entry = subprocess.run(
        [str(bin_dir / "tool-entry")], capture_output=True, text=True, check=False
    )
    assert (entry.returncode, entry.stdout) == (0, "entry point runs\n"), entry.stderr
    assert_record_true(environment.prefix / SITE / "tool-1.0.dist-info")


def test_binary_placeholder_too_short_for_the_prefix_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 120) / ("e" * 120) / "env"
    link_python_into(deep, find_python312())
    (deep / "conda-meta").mkdir()
    short = "/opt/short_placeholder"
    spec = WheelSpec(
        name="tight",
        files={"{data}/data/lib/libtight.so": b"\x00" + short.encode() + b"/lib\x00"},
        sidecar=sidecar(
            placeholders=[
                {
                    "path": "lib/libtight.so",
                    "wheel_path": "tight-1.0.data/data/lib/libtight.so",
                    "placeholder": short,
                    "file_mode": "binary",
                }
            ]
        ),
    )
    with pytest.raises(InstallError, match="longer than the placeholder"):
        install(deep, [make_wheel(tmp_path / "w", spec)])
    assert not (deep / "lib" / "libtight.so").exists()
    assert not list(deep.glob(".condawheel-staging-*"))


# --------------------------------------------------------------------------------------------
# The proof: real conda environments, offline
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncedEnvironment:
    """Environment A and the wheelhouse `condawheel sync A` fed, with that sync's report."""

    prefix: Path
    wheelhouse: Path
    report: dict[str, Any]


def run_condawheel(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    environment["PIP_CONFIG_FILE"] = os.devnull
    return subprocess.run(
        [sys.executable, "-m", "condawheel", *arguments],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )


def sync_environment(prefix: Path, wheelhouse: Path) -> dict[str, Any]:
    """Run ``condawheel sync <prefix> --wheelhouse W`` as an environment hook would."""
    done = run_condawheel(
        "sync", str(prefix), "--wheelhouse", str(wheelhouse), "--json",
        "--system-config", str(wheelhouse.parent / "no-system.cfg"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.fixture(scope="module")
def environment_a(
    conda_environments: CondaEnvironments, tmp_path_factory: pytest.TempPathFactory
) -> SyncedEnvironment:
    """Environment A (cffi, zstandard, brotli-python, requests, tqdm, pip), synced."""
    root = tmp_path_factory.mktemp("env-a")
    env_a = conda_environments.create(root / "A", ENV_A_SPECS)
    wheelhouse = root / "W"
    return SyncedEnvironment(env_a, wheelhouse, sync_environment(env_a, wheelhouse))


@pytest.fixture(scope="module")
def wheelhouse(environment_a: SyncedEnvironment) -> Path:
    """The wheelhouse that ``condawheel sync`` fed from environment A."""
    return environment_a.wheelhouse


@pytest.mark.slow
@pytest.mark.corpus
def test_proof_environment_a_syncs_into_the_wheelhouse(environment_a: SyncedEnvironment) -> None:
    records = sorted((environment_a.prefix / "conda-meta").glob("*.json"))
    counts = {key: value for key, value in environment_a.report["counts"].items() if value}
    assert counts == {"converted": len(records)}
    wheels = {path.name for path in environment_a.wheelhouse.glob("*.whl")}
    assert {"cffi", "zstandard", "brotli", "requests", "tqdm", "pip"} <= {
        canonicalize_name(name.split("-", 1)[0]) for name in wheels
    }
    assert (environment_a.wheelhouse / "simple" / "index.json").is_file()
    # The hook's re-sync of an unchanged environment converts nothing.
    again = sync_environment(environment_a.prefix, environment_a.wheelhouse)
    assert {key: value for key, value in again["counts"].items() if value} == {
        "unchanged": len(records)
    }
    assert {path.name for path in environment_a.wheelhouse.glob("*.whl")} == wheels


def in_env(prefix: Path, code: str) -> str:
    done = subprocess.run(
        [str(prefix / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.mark.slow
@pytest.mark.corpus
def test_proof_install_into_b(
    conda_environments: CondaEnvironments, wheelhouse: Path, tmp_path: Path
) -> None:
    env_b = conda_environments.create(tmp_path / "B", ENV_B_SPECS)
    done = run_condawheel(
        "install", "cffi", "zstandard", "requests", "tqdm", "--prefix", str(env_b),
        "--wheelhouse", str(wheelhouse), "--system-config", str(tmp_path / "none"), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    installed = {item["name"]: item for item in report["installed"]}
    # urllib3's brotli, h2, socks and zstd extras are installed, as conda installs them.
    assert set(installed) == {
        "cffi", "pycparser", "zstandard", "requests", "certifi", "charset-normalizer", "idna",
        "urllib3", "tqdm", "brotli", "h2", "hpack", "hyperframe", "pysocks",
    }  # fmt: skip
    assert installed["cffi"]["wheel"].endswith("-cp312-cp312-conda_linux_64.whl")
    assert installed["requests"]["wheel"].endswith("-py3-none-conda.whl")
    assert installed["cffi"]["requested"]
    assert not installed["pycparser"]["requested"]
    # They work with B's own Python 3.12 and B's conda libraries.
    assert (
        in_env(
            env_b,
            "import cffi; ffi = cffi.FFI(); ffi.cdef('size_t strlen(const char *);');"
            "print(ffi.dlopen(None).strlen(b'condawheel'))",
        )
        == "10\n"
    )
    assert (
        in_env(
            env_b,
            "import zstandard; data = b'wheel' * 1000;"
            "packed = zstandard.ZstdCompressor().compress(data);"
            "print(len(packed) < len(data),"
            " zstandard.ZstdDecompressor().decompress(packed) == data, zstandard.backend)",
        )
        == "True True cext\n"
    )
    assert in_env(env_b, "import requests, sys; print(requests.__version__)") == "2.32.3\n"
    tqdm = subprocess.run(
        [str(env_b / "bin" / "tqdm"), "--version"], capture_output=True, text=True, check=True
    )
    assert tqdm.stdout.strip() == "4.67.1"
    piped = subprocess.run(
        [str(env_b / "bin" / "tqdm")], input="a\nb\n", capture_output=True, text=True, check=True
    )
    assert piped.stdout == "a\nb\n"
    for dist_info in (env_b / SITE).glob("*.dist-info"):
        rows = assert_record_true(dist_info)
        assert not any("cpython-311" in row[0] for row in rows)
    assert (env_b / SITE / "tqdm/__pycache__/__init__.cpython-312.pyc").is_file()
    # A second run installs nothing: everything is there already.
    again = run_condawheel(
        "install", "cffi", "tqdm", "--prefix", str(env_b), "--wheelhouse", str(wheelhouse),
        "--system-config", str(tmp_path / "none"),
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert not [line for line in lines if line.startswith("installed")]
    assert "not reinstalled: cffi 1.17.1: already installed (by condawheel)" in lines


@pytest.mark.slow
@pytest.mark.corpus
def test_proof_external_dependency_and_text_relocation(
    conda_environments: CondaEnvironments, wheelhouse: Path, tmp_path: Path
) -> None:
    env_b = conda_environments.create(tmp_path / "B", ENV_B_SPECS)
    # Remove libffi from B as conda would: its files and its conda-meta record.
    record = next((env_b / "conda-meta").glob("libffi-*.json"))
    for relative in json.loads(record.read_text())["files"]:
        if os.path.lexists(env_b / relative):
            (env_b / relative).unlink()
    record.unlink()
    failed = run_condawheel(
        "install", "cffi", "--prefix", str(env_b), "--wheelhouse", str(wheelhouse),
        "--system-config", str(tmp_path / "none"),
    )  # fmt: skip
    assert failed.returncode == 1
    message = " ".join(failed.stderr.split())
    assert "requires the conda package 'libffi >=3.4,<4.0a0'" in message
    assert f"conda install --prefix {env_b} 'libffi >=3.4,<4.0a0'" in message
    assert not (env_b / SITE / "cffi").exists()
    # The wheel converted from libffi provides it; its pkg-config file holds a text placeholder.
    result = install_requirements(
        ["conda-pkg-libffi", "cffi"],
        prefix=env_b,
        source=PackageSource(wheelhouse=wheelhouse),
        system_config=None,
    )
    assert [item.contents.name for item in result.installation.installs] == [
        "conda-pkg-libffi", "cffi", "pycparser",
    ]  # fmt: skip
    pc = env_b / "lib/pkgconfig/libffi.pc"
    assert pc in result.relocated
    text = pc.read_text()
    assert f"prefix={env_b}\n" in text
    assert "placehold" not in text
    assert (env_b / "lib/libffi.so.8").readlink().as_posix() == "libffi.so.8.1.0"
    assert in_env(env_b, "import _cffi_backend; print(_cffi_backend.__version__)") == "1.17.1\n"
    assert_record_true(env_b / SITE / "conda_pkg_libffi-3.4.2.dist-info")


@pytest.mark.slow
@pytest.mark.corpus
def test_proof_collision_with_a_conda_owned_file_is_refused(
    conda_environments: CondaEnvironments, wheelhouse: Path, tmp_path: Path
) -> None:
    env_b = conda_environments.create(tmp_path / "B", ENV_B_SPECS)
    forks = zstd_fork_wheelhouse(tmp_path)
    inode = (env_b / "lib/libzstd.so.1").resolve().stat().st_ino
    failed = run_condawheel(
        "install", "conda-pkg-zstd-fork", "--prefix", str(env_b), "--wheelhouse", str(forks),
        "--system-config", str(tmp_path / "none"),
    )  # fmt: skip
    assert failed.returncode == 1
    message = " ".join(failed.stderr.split())
    assert "would overwrite lib/libzstd.so.1" in message
    assert f"belongs to the conda package {ZSTD}" in message
    assert (env_b / "lib/libzstd.so.1").resolve().stat().st_ino == inode
    # conda's own zstd, converted, is recognised as installed rather than colliding.
    result = install_requirements(
        ["conda-pkg-zstd"],
        prefix=env_b,
        source=PackageSource(wheelhouse=wheelhouse),
        system_config=None,
    )
    assert result.installation.installs == ()
    assert [item.owner for item in result.installation.already] == [ZSTD]


@pytest.mark.slow
@pytest.mark.corpus
def test_proof_the_conda_meta_record_gives_the_depends_and_the_install_passes(
    conda_environments: CondaEnvironments, wheelhouse: Path, tmp_path: Path
) -> None:
    # zstd's index.json pins libzlib <1.3.0a0; the channel's patched repodata, and so A's
    # conda-meta record, say <2.0a0 (the corpus README): the wheel follows the record.
    [zstd] = [read_wheel(path) for path in wheelhouse.glob("conda_pkg_zstd-*.whl")]
    assert "libzlib (>=1.2.13,<2.0a0)" in zstd.requires_external
    assert "libzlib (>=1.2.13,<1.3.0a0)" not in zstd.requires_external
    assert zstd.sidecar is not None
    document = zstd.sidecar.document
    assert document["depends_from"] == "conda-meta"
    index = document["index"]  # index.json, untouched
    assert isinstance(index, dict)
    assert index["depends"] == [
        "libgcc-ng >=12", "libstdcxx-ng >=12", "libzlib >=1.2.13,<1.3.0a0",
    ]  # fmt: skip
    # An environment with conda's libzlib 1.3.1 and no zstd takes zstd from the wheelhouse.
    env_c = conda_environments.create(
        tmp_path / "C", ("python 3.12.*", "cffi", "libzlib", "libstdcxx-ng")
    )
    assert [path.name for path in (env_c / "conda-meta").glob("libzlib-*.json")] == [
        "libzlib-1.3.1-hb9d3cd8_2.json"
    ]
    assert not list((env_c / "conda-meta").glob("zstd-*.json"))
    result = install_requirements(
        ["zstandard", "conda-pkg-zstd"],
        prefix=env_c,
        source=PackageSource(wheelhouse=wheelhouse),
        system_config=None,
    )
    assert {item.contents.name for item in result.installation.installs} == {
        "zstandard",
        "conda-pkg-zstd",
    }
    assert (
        in_env(env_c, "import zstandard; print(zstandard.backend, zstandard.ZSTD_VERSION)")
        == "cext (1, 5, 6)\n"
    )


@pytest.mark.slow
@pytest.mark.corpus
def test_proof_conda_installed_distributions_are_reported(
    conda_environments: CondaEnvironments, wheelhouse: Path, tmp_path: Path
) -> None:
    env_a = conda_environments.create(tmp_path / "A", ENV_A_SPECS)
    result = install_requirements(
        ["requests", "tqdm"],
        prefix=env_a,
        source=PackageSource(wheelhouse=wheelhouse),
        options=InstallOptions(),
        system_config=None,
    )
    assert result.resolution.pip.origin == "environment"  # A has conda's pip 24.3.1
    assert result.installation.installs == ()
    owners = {item.name: item.owner for item in result.installation.already}
    assert owners == {
        "requests": "requests-2.32.3-pyhd8ed1ab_1",
        "tqdm": "tqdm-4.67.1-pyhd8ed1ab_1",
    }


@pytest.mark.slow
@pytest.mark.corpus
def test_proof_tags_of_b(conda_environments: CondaEnvironments, tmp_path: Path) -> None:
    env_b = conda_environments.create(tmp_path / "B", ENV_B_SPECS)
    done = run_condawheel("tags", "--prefix", str(env_b), "--system-config", str(tmp_path / "x"))
    assert done.returncode == 0, done.stderr
    tags = done.stdout.split()
    platforms = [tag.rsplit("-", 1)[1] for tag in tags]
    first_manylinux = next(i for i, p in enumerate(platforms) if p.startswith("manylinux_"))
    assert platforms.index("conda_linux_64") < first_manylinux
    assert platforms.index("conda") < first_manylinux
    assert max(i for i, p in enumerate(platforms) if p.startswith("conda")) < first_manylinux
    assert tags[0] == "cp312-cp312-conda_linux_64"  # B's interpreter, not condawheel's
    assert "py3-none-conda" in tags[:first_manylinux]


@pytest.mark.slow
@pytest.mark.corpus
def test_proof_a_system_python_never_installs_a_conda_wheel(
    wheelhouse: Path, tmp_path: Path
) -> None:
    python = find_python312()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    environment["PIP_CONFIG_FILE"] = os.devnull
    for source in (
        ["--no-index", "--find-links", str(wheelhouse)],
        ["--index-url", (wheelhouse / "simple").as_uri()],
    ):
        for requirement in ("cffi", "requests", "tqdm", "conda-pkg-zstd"):
            done = subprocess.run(
                [str(python), "-m", "pip", "install", "--dry-run", "--target", str(tmp_path / "t"),
                 "--report", str(tmp_path / "r.json"), *source, requirement],
                capture_output=True, text=True, check=False, env=environment,
            )  # fmt: skip
            assert done.returncode == 1, done.stdout
            assert "No matching distribution found" in done.stderr, done.stderr
    wheel = next(wheelhouse.glob("cffi-*.whl"))
    direct = subprocess.run(
        [str(python), "-m", "pip", "install", "--dry-run", "--no-index", str(wheel)],
        capture_output=True, text=True, check=False, env=environment,
    )  # fmt: skip
    assert direct.returncode == 1
    assert "is not a supported wheel on this platform" in direct.stderr


@pytest.mark.corpus
def test_binary_placeholders_of_a_real_package_point_into_the_prefix(
    corpus: Path, tmp_path: Path
) -> None:
    # openssl compiles its OPENSSLDIR (<build prefix>/ssl) into libcrypto as a binary
    # placeholder; installed elsewhere, it must name the new prefix's ssl/.
    archive = corpus / "channel" / "linux-64" / "openssl-3.4.0-h7b32b05_1.conda"
    (tmp_path / "w").mkdir()
    wheel = convert(archive, tmp_path / "w", mapping=default_mapping()).wheel
    root = tmp_path / "env"
    link_python_into(root, find_python312())
    conda_record(root, "ca-certificates", "2024.12.14", "hbcca054_0", {})
    conda_record(root, "libgcc", "14.2.0", "h77fa898_1", {})
    environment, relocated = install(root, [wheel])
    prefix = environment.prefix
    assert any(path.name.startswith("libcrypto.so") for path in relocated)
    shown = subprocess.run(
        [str(prefix / "bin" / "openssl"), "version", "-d"],
        capture_output=True, text=True, check=True, env={"PATH": os.defpath},
    )  # fmt: skip
    assert shown.stdout == f'OPENSSLDIR: "{prefix}/ssl"\n'
