"""METADATA editing, egg-info conversion, synthesis, WHEEL and entry points."""

from __future__ import annotations

import pytest
from packaging.metadata import Metadata
from packaging.requirements import Requirement

from condawheel.conda.condameta import About
from condawheel.metadata import (
    MetadataText,
    egg_info_to_metadata,
    license_fields,
    metadata_version_at_least,
    render_wheel_file,
    synthesize_metadata,
)

EMBEDDED = (
    "Metadata-Version: 2.1\n"
    "Name: Brotli\n"
    "Version: 1.1.0\n"
    "Summary: Python bindings for the Brotli compression library\n"
    "Classifier: Programming Language :: C\n"
    "Requires-Python: >=3.6\n"
    "Description: long\n"
    "        continued description line\n"
    "\n"
    "Body text stays *exactly* as is.\n"
)


def test_edits_keep_everything_else_verbatim() -> None:
    document = MetadataText.parse(EMBEDDED)
    edited = document.without("Requires-Python").with_fields(
        [
            ("Requires-Python", ">=3.12,<3.13"),
            ("Requires-External", "libbrotlicommon (>=1.1.0,<1.2.0a0)"),
        ]
    )
    assert edited.render().decode() == (
        "Metadata-Version: 2.1\n"
        "Name: Brotli\n"
        "Version: 1.1.0\n"
        "Summary: Python bindings for the Brotli compression library\n"
        "Classifier: Programming Language :: C\n"
        "Description: long\n"
        "        continued description line\n"
        "Requires-Python: >=3.12,<3.13\n"
        "Requires-External: libbrotlicommon (>=1.1.0,<1.2.0a0)\n"
        "\n"
        "Body text stays *exactly* as is.\n"
    )


def test_get_unfolds_continuations() -> None:
    document = MetadataText.parse(EMBEDDED)
    assert document.get("name") == "Brotli"
    assert document.get("Description") == "long\ncontinued description line"
    assert document.get_all("Missing") == []


def test_egg_info_requires_sections_become_markers() -> None:
    pkg_info = "Metadata-Version: 1.1\nName: mock\nVersion: 2.0.0\n"
    requires = (
        "pbr>=0.11\nsix>=1.9\n\n[docs]\nsphinx\n\n"
        '[:python_version < "3.3"]\nfuncsigs>=1\n\n[test:sys_platform == "win32"]\npytest\n'
    )
    document = egg_info_to_metadata(pkg_info, requires)
    assert document.get("Metadata-Version") == "2.1"
    assert document.get_all("Provides-Extra") == ["docs", "test"]
    assert document.get_all("Requires-Dist") == [
        "pbr>=0.11",
        "six>=1.9",
        'sphinx; extra == "docs"',
        'funcsigs>=1; (python_version < "3.3")',
        'pytest; (sys_platform == "win32") and extra == "test"',
    ]
    Metadata.from_email(document.render(), validate=True)


def test_egg_info_bad_requirement() -> None:
    with pytest.raises(ValueError, match="is not a PEP 508 requirement"):
        egg_info_to_metadata(
            "Metadata-Version: 1.0\nName: x\nVersion: 1\n", "not a valid req ===\n"
        )


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        (("Zlib",), ("License-Expression", "Zlib")),
        (("zlib",), ("License-Expression", "Zlib")),
        (("BSD-3-Clause AND MIT",), ("License-Expression", "BSD-3-Clause AND MIT")),
        (("BSD", "MIT"), ("License-Expression", "MIT")),
        (("BSD",), ("License", "BSD")),
        (("GPL v2 or later\n(see COPYING)",), ("License", "GPL v2 or later (see COPYING)")),
        ((None, ""), None),
    ],
)
def test_license_fields(
    candidates: tuple[str | None, ...], expected: tuple[str, str] | None
) -> None:
    assert license_fields(*candidates) == expected


def test_synthesized_metadata_validates() -> None:
    about = About(
        summary="zstd\ncompression",
        home="https://facebook.github.io/zstd",
        dev_url="https://github.com/facebook/zstd",
        description="Long text",
    )
    document = synthesize_metadata(
        name="conda-pkg-zstd",
        version="1.5.6",
        about=about,
        license_field=("License-Expression", "BSD-3-Clause"),
        license_files=["LICENSE"],
    )
    rendered = document.render()
    parsed = Metadata.from_email(rendered, validate=True)
    assert parsed.name == "conda-pkg-zstd"
    assert parsed.summary == "zstd compression"
    assert parsed.license_expression == "BSD-3-Clause"
    assert parsed.license_files == ["LICENSE"]
    assert parsed.project_urls == {
        "Homepage": "https://facebook.github.io/zstd",
        "Source": "https://github.com/facebook/zstd",
    }
    assert rendered.startswith(b"Metadata-Version: 2.4\n")
    assert rendered.endswith(b"\n\nLong text\n")


def test_metadata_version_bump() -> None:
    old = MetadataText.parse("Metadata-Version: 1.0\nName: x\nVersion: 1\n")
    assert metadata_version_at_least(old, (1, 2)).get("Metadata-Version") == "1.2"
    new = MetadataText.parse("Metadata-Version: 2.4\nName: x\nVersion: 1\n")
    assert metadata_version_at_least(new, (1, 2)).get("Metadata-Version") == "2.4"


def test_wheel_file() -> None:
    assert render_wheel_file(
        generator="condawheel 0.1.0",
        root_is_purelib=False,
        tags=["cp312-cp312-conda_linux_64"],
        build="0_py312h06ac9bb_0",
    ) == (
        b"Wheel-Version: 1.0\nGenerator: condawheel 0.1.0\nRoot-Is-Purelib: false\n"
        b"Tag: cp312-cp312-conda_linux_64\nBuild: 0_py312h06ac9bb_0\n"
    )


FOLDED = (
    "Metadata-Version: 2.1\n"
    "Name: rich\n"
    "Version: 13.9.4\n"
    "License: line one\n"
    "  line two\n"
    'Requires-Dist: typing-extensions >=4.0.0,<5.0 ; (python_version < "3.11") and\n'
    " extra == 'original'\n"
    "\n"
    "body\n"
)


def test_folded_values_are_read_unfolded_as_rfc_5322_says() -> None:
    document = MetadataText.parse(FOLDED)
    (requirement,) = document.get_all("Requires-Dist")
    assert requirement == (
        "typing-extensions >=4.0.0,<5.0 ; (python_version < \"3.11\") and extra == 'original'"
    )
    assert str(Requirement(requirement).marker) == (
        'python_version < "3.11" and extra == "original"'
    )
    assert document.get("License") == "line one\nline two"  # text of several lines
    assert document.folded_fields == ("Requires-Dist",)


def test_unfolded_writes_single_line_fields_on_one_line() -> None:
    rendered = MetadataText.parse(FOLDED).unfolded().render().decode()
    assert (
        'Requires-Dist: typing-extensions >=4.0.0,<5.0 ; (python_version < "3.11") and '
        "extra == 'original'\n"
    ) in rendered
    assert "License: line one\n  line two\n" in rendered  # multi-line text keeps its lines
    assert MetadataText.parse(FOLDED).unfolded().folded_fields == ()
    Metadata.from_email(rendered, validate=True)
