r"""Relocate prefix placeholders to an environment's prefix (pure: bytes in, bytes out).

The rules are conda's (``conda/core/portability.py``: ``update_prefix``, ``replace_prefix``,
``binary_replace``, ``replace_long_shebang``; docs/reference.md, 1.6), applied to the files a
converted wheel's ``conda.json`` lists under ``prefix_placeholders``:

* Each replacement is made in the encodings conda tries (``POPULAR_ENCODINGS``: UTF-8,
  UTF-16 and UTF-32, both byte orders), so wide-character strings are relocated too.
* **text**: every occurrence of the placeholder becomes the prefix. On a Windows target the
  prefix is written with ``/`` (conda does this so that no backslash needs escaping). On other
  targets a first-line ``#!<placeholder>`` gets the prefix with spaces escaped as ``\ ``,
  then a shebang longer than the kernel accepts (127 bytes on Linux, 512 elsewhere) or with
  an escaped space is rewritten ``#!/usr/bin/env <program><options>`` -- which, as in conda,
  assumes the environment is activated.
* **binary**: every NUL-terminated run that holds the placeholder is rewritten and padded
  with NULs to its original length, so offsets inside the file do not move. A prefix longer
  than the placeholder cannot fit (an ``InstallError``). On a Windows target binary files
  are left alone (conda rewrites only distlib launchers there, which wheels never
  carry: installers make their own).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from condawheel.errors import InstallError

__all__ = [
    "ENCODINGS",
    "RelocationTarget",
    "relocate",
    "relocate_binary",
    "relocate_text",
    "shorten_shebang",
]

# conda/core/portability.py POPULAR_ENCODINGS (conda/conda#9946).
ENCODINGS: Final = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
LINUX_SHEBANG_LIMIT: Final = 127  # BINPRM_BUF_SIZE - 1 before Linux 5.1
OTHER_SHEBANG_LIMIT: Final = 512  # conda's limit for macOS and the BSDs
# conda's SHEBANG_REGEX: "#!", optional spaces, the program (a path without unescaped
# whitespace), then the options, to the end of the first line.
_SHEBANG = re.compile(rb"\A(#![ ]*(/(?:\\ |[^ \n\r\t])*)(.*))$", re.MULTILINE)


def _too_long(subject: str, placeholder: str, prefix: str) -> InstallError:
    return InstallError(
        subject,
        f"the prefix {prefix!r} ({len(prefix.encode())} bytes) is longer than the "
        f"placeholder compiled into this binary file ({len(placeholder.encode())} bytes), "
        "so it cannot be relocated; use a shorter environment path",
    )


@dataclass(frozen=True)
class RelocationTarget:
    """Where the files are going: the prefix and the kind of system it lives on.

    :param system: ``"linux"``, ``"windows"`` or ``"other"`` (macOS, BSD): it decides the
        shebang limit and the Windows rules.
    """

    prefix: str
    system: Literal["linux", "windows", "other"] = "linux"

    @property
    def shebang_limit(self) -> int:
        """Return the longest shebang line the kernel runs."""
        return LINUX_SHEBANG_LIMIT if self.system == "linux" else OTHER_SHEBANG_LIMIT


def shorten_shebang(data: bytes, *, limit: int) -> bytes:
    """Rewrite a too-long (or space-escaped) first-line shebang as ``#!/usr/bin/env``.

    ``#!/very/long/prefix/bin/python3.12 -E`` -> ``#!/usr/bin/env python3.12 -E``.
    Anything else is returned unchanged.
    """
    match = _SHEBANG.match(data)
    if match is None:
        return data
    whole, program, options = match.groups()
    directory, _, name = program.rpartition(b"/")
    if len(whole) <= limit and b"\\ " not in directory:
        return data
    return b"#!/usr/bin/env " + name + options + data[match.end(1) :]


def relocate_text(data: bytes, placeholder: str, target: RelocationTarget) -> bytes:
    """Replace a text file's placeholder with the prefix, fixing its shebang as conda does."""
    prefix = target.prefix
    if target.system == "windows":
        prefix = prefix.replace("\\", "/")
    for encoding in ENCODINGS:
        if target.system != "windows":
            # A prefix with spaces would split the shebang's program: escape them, which
            # makes shorten_shebang() switch to /usr/bin/env below.
            line_end = data.find(b"\n")
            if line_end > -1:
                first, rest = data[:line_end], data[line_end:]
                wanted = f"#!{placeholder}".encode(encoding)
                if wanted in first:
                    escaped = f"#!{prefix}".replace(" ", "\\ ").encode(encoding)
                    data = first.replace(wanted, escaped) + rest
        data = data.replace(placeholder.encode(encoding), prefix.encode(encoding))
    if target.system != "windows":
        data = shorten_shebang(data, limit=target.shebang_limit)
    return data


def _binary_replace(data: bytes, search: bytes, replacement: bytes, nul: bytes) -> bytes:
    # From the placeholder to the next NUL of this encoding: the rest of a C string.
    pattern = re.compile(re.escape(search) + b"(?:(?!" + re.escape(nul) + b").)*" + nul, re.DOTALL)

    def rewrite(match: re.Match[bytes]) -> bytes:
        found = match.group()
        padding = (len(search) - len(replacement)) * found.count(search)
        if padding < 0:
            raise ValueError
        return found.replace(search, replacement) + b"\0" * padding

    return pattern.sub(rewrite, data)


def relocate_binary(
    data: bytes, placeholder: str, target: RelocationTarget, *, subject: str = "binary file"
) -> bytes:
    """Replace the placeholder inside NUL-terminated strings, padding with NULs.

    The result always has the length of ``data``.

    :param subject: the file, for the error message.
    :raises InstallError: when the prefix is longer than the placeholder.
    """
    if target.system == "windows":
        return data
    for encoding in ENCODINGS:
        search = placeholder.encode(encoding)
        if search not in data:
            continue
        try:
            data = _binary_replace(
                data, search, target.prefix.encode(encoding), "\0".encode(encoding)
            )
        except ValueError:
            raise _too_long(subject, placeholder, target.prefix) from None
    return data


def relocate(
    data: bytes,
    placeholder: str,
    file_mode: Literal["text", "binary"],
    target: RelocationTarget,
    *,
    subject: str = "file",
) -> bytes:
    """Relocate one file's bytes according to its recorded mode.

    :param subject: the file, for error messages.
    :raises InstallError: for a binary file that cannot hold the prefix.
    """
    if file_mode == "binary":
        return relocate_binary(data, placeholder, target, subject=subject)
    return relocate_text(data, placeholder, target)
