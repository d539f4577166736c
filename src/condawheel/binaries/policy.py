"""Which libraries the host system provides, per binary format, with the reason shown (pure)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from condawheel.binaries.facts import BinaryFormat

__all__ = ["system_reason"]

# glibc's own libraries: conda never ships them, the host provides them (``__glibc``).
_GLIBC = frozenset(
    {
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "librt.so.1",
        "libpthread.so.0",
        "libutil.so.1",
        "libresolv.so.2",
        "libnsl.so.1",
        "libanl.so.1",
        "libmvec.so.1",
        "libBrokenLocale.so.1",
        "libthread_db.so.1",
        "libc_malloc_debug.so.0",
    }
)
# The program interpreters glibc installs (ld-linux-x86-64.so.2, ld-linux-aarch64.so.1,
# ld-linux.so.2, ld-linux-armhf.so.3, ld64.so.1 (s390x), ld64.so.2 (ppc64le), ...).
_GLIBC_INTERPRETER = re.compile(r"^(ld-linux[-\w.]*|ld64)\.so\.\d+$")
# The other libraries of the manylinux policy (PEP 600; auditwheel's manylinux_2_17
# lib_whitelist, the same as PEP 599's list plus libatomic, libanl, libexpat, libz).
# libcrypt.so.1 left the list with PEP 571; conda ships libcrypt.so.2 (libxcrypt).
_MANYLINUX = frozenset(
    {
        "libgcc_s.so.1",
        "libstdc++.so.6",
        "libatomic.so.1",
        "libX11.so.6",
        "libXext.so.6",
        "libXrender.so.1",
        "libICE.so.6",
        "libSM.so.6",
        "libGL.so.1",
        "libgobject-2.0.so.0",
        "libgthread-2.0.so.0",
        "libglib-2.0.so.0",
        "libexpat.so.1",
        "libz.so.1",
    }
)
# macOS: dyld's shared cache holds /usr/lib and the system frameworks.
_MACOS_SYSTEM_PREFIXES = ("/usr/lib/", "/System/")
# Windows: DLLs of every supported Windows (System32), the API sets, and the Universal
# CRT (part of Windows 10+; conda's ``ucrt`` package provides it where it is missing).
_WINDOWS_API_SETS = ("api-ms-win-", "ext-ms-win-")
_WINDOWS_SYSTEM = frozenset(
    {
        "advapi32.dll", "avrt.dll", "bcrypt.dll", "cfgmgr32.dll", "comctl32.dll",
        "comdlg32.dll", "crypt32.dll", "cryptbase.dll", "d2d1.dll", "d3d11.dll",
        "d3d12.dll", "d3d9.dll", "dbghelp.dll", "dnsapi.dll", "dwmapi.dll", "dwrite.dll",
        "dxgi.dll", "gdi32.dll", "gdiplus.dll", "glu32.dll", "hid.dll", "imagehlp.dll",
        "imm32.dll", "iphlpapi.dll", "kernel32.dll", "kernelbase.dll", "mpr.dll",
        "msimg32.dll", "mscoree.dll", "msvcrt.dll", "mswsock.dll", "ncrypt.dll",
        "netapi32.dll", "normaliz.dll", "ntdll.dll", "ole32.dll", "oleacc.dll",
        "oleaut32.dll", "opengl32.dll", "powrprof.dll", "propsys.dll", "psapi.dll",
        "rpcrt4.dll", "secur32.dll", "setupapi.dll", "shcore.dll", "shell32.dll",
        "shlwapi.dll", "sspicli.dll", "ucrtbase.dll", "user32.dll", "userenv.dll",
        "usp10.dll", "uxtheme.dll", "version.dll", "winhttp.dll", "wininet.dll",
        "winmm.dll", "winspool.drv", "wintrust.dll", "wldap32.dll", "ws2_32.dll",
        "wsock32.dll", "wtsapi32.dll",
    }
)  # fmt: skip


# The Visual C++ runtime CPython itself is linked against (3.5+): wherever a Windows Python
# runs, these are loaded (python.org bundles them; conda's python needs vc14_runtime), as
# manylinux takes libstdc++ for granted. msvcp140.dll and the rest of vc14_runtime are not:
# a C++ library must still declare them.
_WINDOWS_PYTHON_RUNTIME = frozenset({"vcruntime140.dll", "vcruntime140_1.dll"})


def system_reason(binary_format: BinaryFormat, name: str) -> str | None:
    """Return why the host provides library ``name`` of a ``binary_format`` binary, or ``None``."""
    if binary_format == "elf":
        if name in _GLIBC or _GLIBC_INTERPRETER.match(name):
            return "part of glibc, which the host system provides"
        return "allowed as a system library by the manylinux policy" if name in _MANYLINUX else None
    if binary_format == "macho":
        return "a macOS system library" if name.startswith(_MACOS_SYSTEM_PREFIXES) else None
    folded = name.casefold()
    if folded in _WINDOWS_PYTHON_RUNTIME:
        return "the Visual C++ runtime every Windows Python loads"
    system = folded in _WINDOWS_SYSTEM or folded.startswith(_WINDOWS_API_SETS)
    return "a Windows system DLL" if system else None
