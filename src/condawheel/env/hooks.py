"""Environment hooks: the per-environment tag configuration, activation scripts, pip hook.

``condawheel hook install --prefix P --wheelhouse W`` writes, and ``hook remove`` undoes:

* ``P/binary-compatibility.cfg``: the entry for P's interpreter (its base platform), so that
  P accepts its conda platform tags (``conda_linux_64``, then ``conda``) and
  ``convert`` stamps ``conda_linux_64`` for it. Other entries of an existing file are kept, and
  the entry it replaced is put back on removal.
* ``P/etc/conda/activate.d/condawheel.{sh,csh,fish,ps1,bat,xsh}`` and the same names in
  ``deactivate.d/``: activating P exports ``CONDAWHEEL_WHEELHOUSE=W`` (which ``condawheel
  install`` reads when ``--wheelhouse`` is not given) and deactivating restores the previous
  value (kept in ``CONDA_BACKUP_CONDAWHEEL_WHEELHOUSE``, conda-forge's convention). conda
  sources ``*.sh`` in POSIX shells (bash, zsh, dash...), ``*.csh`` in csh/tcsh, ``*.fish``,
  ``*.ps1`` in PowerShell, ``*.bat`` in cmd.exe and ``*.xsh`` in xonsh; mamba, micromamba and
  pixi run the same ``etc/conda/activate.d`` scripts.
* the pip hook's files (:mod:`condawheel.env.piphook`), passed in as ``extra_files`` and
  recorded and removed like the scripts (a removed module's bytecode goes with it);
* ``P/pip.conf`` (``pip.ini`` on Windows), the environment's own pip cache
  (:mod:`condawheel.env.pipcache`), passed in with the pip hook's files;
* ``P/etc/condawheel/hook.json``: what was written (each file's sha256), so that removal
  deletes only files nobody changed since. It is written *first*, as the intent (with the
  configuration entry to put back): a write that fails part-way leaves what
  ``hook remove`` needs to undo it.

Both commands are idempotent: a second ``install`` with the same wheelhouse writes nothing,
a second ``remove`` removes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from condawheel.env.tagconfig import (
    CONFIG_NAME,
    PlatformEntry,
    parse_tag_config,
    render_tag_config,
)
from condawheel.errors import ConfigError, InstallError
from condawheel.io.files import write_atomically
from condawheel.io.jsondata import parse_json

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

__all__ = [
    "BACKUP_VARIABLE",
    "STATE_PATH",
    "VARIABLE",
    "HookFile",
    "HookResult",
    "install_hook",
    "remove_hook",
    "render_scripts",
]

VARIABLE: Final = "CONDAWHEEL_WHEELHOUSE"
BACKUP_VARIABLE: Final = f"CONDA_BACKUP_{VARIABLE}"
STATE_PATH: Final = "etc/condawheel/hook.json"
SCRIPT_STEM: Final = "condawheel"
_MARKER: Final = "condawheel hook"
_HEADER: Final = (
    "{comment} {marker}: written by `condawheel hook install`, removed by `condawheel hook "
    "remove`.\n{comment} While this environment is active, condawheel uses the wheelhouse below.\n"
)
_STATE_VERSION: Final = 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class HookFile:
    """A file the hook writes, relative to the prefix (POSIX)."""

    path: str
    content: bytes


@dataclass(frozen=True)
class HookResult:
    """What ``hook install`` / ``hook remove`` did (prefix-relative paths)."""

    written: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()  # changed by someone since condawheel wrote them
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        """Return the record ``condawheel hook install/remove --json`` prints."""
        return {
            "written": list(self.written),
            "unchanged": list(self.unchanged),
            "removed": list(self.removed),
            "kept": list(self.kept),
        }


def _sh(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _csh(value: str) -> str:
    # Single quotes keep everything literal but '!' (history substitution) and "'" itself.
    parts = re.split(r"(['!])", value)
    quoted = []
    for part in parts:
        if part == "'":
            quoted.append('"\'"')
        elif part == "!":
            quoted.append("\\!")
        elif part:
            quoted.append(f"'{part}'")
    return "".join(quoted) or "''"


def _fish(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _powershell(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _cmd(value: str) -> str:
    return value.replace("%", "%%")


def _header(comment: str) -> str:
    return _HEADER.format(comment=comment, marker=_MARKER)


def _posix(wheelhouse: str) -> tuple[str, str]:
    activate = (
        _header("#")
        + f'if [ -n "${{{VARIABLE}+x}}" ]; then\n'
        + f'    export {BACKUP_VARIABLE}="${{{VARIABLE}}}"\n'
        + "fi\n"
        + f"export {VARIABLE}={_sh(wheelhouse)}\n"
    )
    deactivate = (
        _header("#")
        + f'if [ -n "${{{BACKUP_VARIABLE}+x}}" ]; then\n'
        + f'    export {VARIABLE}="${{{BACKUP_VARIABLE}}}"\n'
        + f"    unset {BACKUP_VARIABLE}\n"
        + "else\n"
        + f"    unset {VARIABLE}\n"
        + "fi\n"
    )
    return activate, deactivate


def _c_shell(wheelhouse: str) -> tuple[str, str]:
    activate = (
        _header("#")
        + f"if ( $?{VARIABLE} ) then\n"
        + f'    setenv {BACKUP_VARIABLE} "${VARIABLE}"\n'
        + "endif\n"
        + f"setenv {VARIABLE} {_csh(wheelhouse)}\n"
    )
    deactivate = (
        _header("#")
        + f"if ( $?{BACKUP_VARIABLE} ) then\n"
        + f'    setenv {VARIABLE} "${BACKUP_VARIABLE}"\n'
        + f"    unsetenv {BACKUP_VARIABLE}\n"
        + "else\n"
        + f"    unsetenv {VARIABLE}\n"
        + "endif\n"
    )
    return activate, deactivate


def _fish_shell(wheelhouse: str) -> tuple[str, str]:
    activate = (
        _header("#")
        + f"if set -q {VARIABLE}\n"
        + f"    set -gx {BACKUP_VARIABLE} ${VARIABLE}\n"
        + "end\n"
        + f"set -gx {VARIABLE} {_fish(wheelhouse)}\n"
    )
    deactivate = (
        _header("#")
        + f"if set -q {BACKUP_VARIABLE}\n"
        + f"    set -gx {VARIABLE} ${BACKUP_VARIABLE}\n"
        + f"    set -e {BACKUP_VARIABLE}\n"
        + "else\n"
        + f"    set -e {VARIABLE}\n"
        + "end\n"
    )
    return activate, deactivate


def _power_shell(wheelhouse: str) -> tuple[str, str]:
    activate = (
        _header("#")
        + f"if (Test-Path Env:{VARIABLE}) {{ $Env:{BACKUP_VARIABLE} = $Env:{VARIABLE} }}\n"
        + f"$Env:{VARIABLE} = {_powershell(wheelhouse)}\n"
    )
    deactivate = (
        _header("#")
        + f"if (Test-Path Env:{BACKUP_VARIABLE}) {{\n"
        + f"    $Env:{VARIABLE} = $Env:{BACKUP_VARIABLE}\n"
        + f"    Remove-Item Env:{BACKUP_VARIABLE}\n"
        + "} else {\n"
        + f"    Remove-Item Env:{VARIABLE} -ErrorAction SilentlyContinue\n"
        + "}\n"
    )
    return activate, deactivate


def _cmd_shell(wheelhouse: str) -> tuple[str, str]:
    activate = (
        _header("@REM")
        + f'@IF DEFINED {VARIABLE} SET "{BACKUP_VARIABLE}=%{VARIABLE}%"\n'
        + f'@SET "{VARIABLE}={_cmd(wheelhouse)}"\n'
    )
    deactivate = (
        _header("@REM")
        + f"@IF DEFINED {BACKUP_VARIABLE} (\n"
        + f'    SET "{VARIABLE}=%{BACKUP_VARIABLE}%"\n'
        + f'    SET "{BACKUP_VARIABLE}="\n'
        + ") ELSE (\n"
        + f'    SET "{VARIABLE}="\n'
        + ")\n"
    )
    # cmd.exe reads batch files with CRLF line ends reliably (labels and blocks).
    return activate.replace("\n", "\r\n"), deactivate.replace("\n", "\r\n")


def _xonsh(wheelhouse: str) -> tuple[str, str]:
    activate = (
        _header("#")
        + f"if '{VARIABLE}' in ${{...}}:\n"
        + f"    ${BACKUP_VARIABLE} = ${VARIABLE}\n"
        + f"${VARIABLE} = {json.dumps(wheelhouse)}\n"
    )
    deactivate = (
        _header("#")
        + f"if '{BACKUP_VARIABLE}' in ${{...}}:\n"
        + f"    ${VARIABLE} = ${BACKUP_VARIABLE}\n"
        + f"    del ${BACKUP_VARIABLE}\n"
        + f"elif '{VARIABLE}' in ${{...}}:\n"
        + f"    del ${VARIABLE}\n"
    )
    return activate, deactivate


_SHELLS: Final[Mapping[str, Callable[[str], tuple[str, str]]]] = {
    "sh": _posix,
    "csh": _c_shell,
    "fish": _fish_shell,
    "ps1": _power_shell,
    "bat": _cmd_shell,
    "xsh": _xonsh,
}


def render_scripts(wheelhouse: str) -> tuple[HookFile, ...]:
    """Render the activation and deactivation scripts for every shell conda supports (pure).

    :raises ConfigError: for a wheelhouse path with control characters (no shell quotes
        a newline the same way).
    """
    if _CONTROL.search(wheelhouse):
        raise ConfigError(
            wheelhouse,
            "a wheelhouse path with control characters cannot be written into activation scripts",
        )
    files = []
    for suffix, render in _SHELLS.items():
        activate, deactivate = render(wheelhouse)
        files.append(HookFile(f"etc/conda/activate.d/{SCRIPT_STEM}.{suffix}", activate.encode()))
        files.append(
            HookFile(f"etc/conda/deactivate.d/{SCRIPT_STEM}.{suffix}", deactivate.encode())
        )
    return tuple(files)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(path: Path, data: bytes) -> None:
    # The hook's own files: a new file renamed into place (never written through a link).
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)


def _read_state(prefix: Path) -> Mapping[str, object] | None:
    path = prefix / STATE_PATH
    try:
        document = parse_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ConfigError(str(path), f"unreadable hook state: {error}") from None
    if not isinstance(document, dict) or document.get("schema_version") != _STATE_VERSION:
        raise ConfigError(str(path), "not a condawheel hook state of a known schema_version")
    return document


def _recorded_files(state: Mapping[str, object] | None) -> dict[str, str]:
    files = state.get("files") if state is not None else None
    if not isinstance(files, dict):
        return {}
    return {str(key): str(value) for key, value in files.items()}


def _current(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(str(path), f"cannot be read: {error.strerror or error}") from None


def _superseded_files(state: Mapping[str, object] | None) -> dict[str, str]:
    superseded = state.get("superseded") if state is not None else None
    if not isinstance(superseded, dict):
        return {}
    return {str(key): str(value) for key, value in superseded.items()}


def _config_entries(prefix: Path) -> dict[str, PlatformEntry] | None:
    path = prefix / CONFIG_NAME
    text = _current(path)
    if text is None:
        return None
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(str(path), f"{CONFIG_NAME}: not UTF-8 text") from None
    return dict(parse_tag_config(str(path), decoded).entries)


def _entry_json(entry: PlatformEntry | None) -> object:
    return None if entry is None else entry.to_json()


def _entry_from_json(raw: object) -> PlatformEntry | None:
    if not isinstance(raw, dict):
        return None
    document = json.dumps({"entry": raw})
    return parse_tag_config(STATE_PATH, document).entries.get("entry")


def install_hook(
    prefix: Path,
    wheelhouse: Path,
    *,
    base_platform: str,
    entry: PlatformEntry,
    extra_files: tuple[HookFile, ...] = (),
) -> HookResult:
    """Write the configuration entry and the activation scripts (idempotent).

    :param base_platform: the environment interpreter's base platform (the config key).
    :param entry: the tags to configure for it (:func:`~condawheel.env.tagconfig.default_entry`).
    :param extra_files: more files to write, record and remove alike (the pip hook's,
        :func:`condawheel.env.piphook.render_pip_hook`).
    :raises ConfigError: for a malformed existing ``binary-compatibility.cfg`` or hook
        state, a script of the same name that condawheel did not write, or a directory
        where a file goes (checked before anything is written: a refusal leaves the
        environment as it was).
    :raises InstallError: when a file cannot be written (a full disk, a read-only
        folder); the state is written first, so ``hook remove`` undoes the rest.
    """
    # Decide everything first: a refusal must leave the environment as it was.
    targets = (
        CONFIG_NAME,
        STATE_PATH,
        *(item.path for item in render_scripts("")),
        *(item.path for item in extra_files),
    )
    for relative in targets:
        if (prefix / relative).is_dir():
            raise ConfigError(
                str(prefix / relative),
                "is a directory where condawheel writes a file; move it away; nothing was written",
            )
    state = _read_state(prefix)
    recorded = _recorded_files(state)
    # 1. The configuration file: our entry set, the others kept.
    entries = _config_entries(prefix)
    config_state = state.get("config") if state is not None else None
    if isinstance(config_state, dict) and config_state.get("platform") == base_platform:
        previous_raw, created = config_state.get("previous"), bool(config_state.get("created"))
    else:
        previous_raw = _entry_json((entries or {}).get(base_platform))
        created = entries is None
    new_entries = dict(entries or {})
    new_entries[base_platform] = PlatformEntry(entry.build, entry.install, CONFIG_NAME)
    wanted = [HookFile(CONFIG_NAME, render_tag_config(new_entries).encode())]
    # 2. The scripts, replacing only what condawheel wrote.
    files = (*render_scripts(str(wheelhouse.absolute())), *extra_files)
    foreign = []
    superseded: dict[str, str] = {}  # our earlier scripts this install replaces
    for hook_file in files:
        current = _current(prefix / hook_file.path)
        if current is None or current == hook_file.content:
            continue
        digest = _sha256(current)
        if digest in {recorded.get(hook_file.path), _superseded_files(state).get(hook_file.path)}:
            superseded[hook_file.path] = digest
        else:
            foreign.append(hook_file.path)
    if foreign:
        others = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
        raise ConfigError(
            str(prefix / foreign[0]),
            f"exists and was not written by condawheel (or was edited since){others}; "
            "move it away (`condawheel hook remove` keeps files edited since it wrote "
            "them); nothing was written",
        )
    wanted.extend(files)
    # 3. What is written, for `hook remove`; with the earlier scripts it replaces, which
    # stay on disk if a write fails part-way and are then still condawheel's to remove.
    document = {
        "schema_version": _STATE_VERSION,
        "wheelhouse": str(wheelhouse.absolute()),
        "files": {item.path: _sha256(item.content) for item in files},
        "superseded": superseded,
        "config": {
            "platform": base_platform,
            "entry": _entry_json(new_entries[base_platform]),
            "previous": previous_raw,
            "created": created,
        },
    }
    state_bytes = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
    # Then write: the state first (the intent, with the entry to put back), so that
    # `hook remove` can undo whatever part of the rest gets written.
    if _current(prefix / STATE_PATH) != state_bytes:
        try:
            _write(prefix / STATE_PATH, state_bytes)
        except OSError as error:
            raise InstallError(
                str(prefix / STATE_PATH),
                f"cannot be written: {error.strerror or error}; nothing was written",
            ) from None
    written: list[str] = []
    unchanged: list[str] = []
    for hook_file in wanted:
        path = prefix / hook_file.path
        if _current(path) == hook_file.content:
            unchanged.append(hook_file.path)
            continue
        try:
            _write(path, hook_file.content)
        except OSError as error:
            done = f" after {', '.join(written)}" if written else ""
            raise InstallError(
                str(path),
                f"cannot be written: {error.strerror or error}{done}; "
                "`condawheel hook remove` undoes what was written",
            ) from None
        written.append(hook_file.path)
    return HookResult(written=tuple(written), unchanged=tuple(unchanged))


def _remove_if_empty(directory: Path, stop: Path) -> None:
    while directory != stop:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def _restore_config(
    prefix: Path, config_state: Mapping[str, object], removed: list[str], kept: list[str]
) -> None:
    platform = str(config_state.get("platform"))
    entries = _config_entries(prefix)
    if entries is None:
        return
    ours = _entry_from_json(config_state.get("entry"))
    current = entries.get(platform)
    previous = _entry_from_json(config_state.get("previous"))
    if _entry_json(current) == _entry_json(previous):
        return  # an install that failed before writing the configuration: as it was
    if current is None or ours is None or current.to_json() != ours.to_json():
        kept.append(CONFIG_NAME)  # someone changed our entry since: theirs now
        return
    if previous is None:
        del entries[platform]
    else:
        entries[platform] = previous
    path = prefix / CONFIG_NAME
    if not entries and config_state.get("created"):
        path.unlink()
        removed.append(CONFIG_NAME)
    else:
        _write(path, render_tag_config(entries).encode())
        removed.append(f"{CONFIG_NAME} entry {platform!r}")


def remove_hook(prefix: Path) -> HookResult:
    """Undo :func:`install_hook`: remove unchanged scripts, restore the configuration.

    Without a hook state, scripts of condawheel's names that carry its marker line are
    removed and the configuration is left alone.

    :raises ConfigError: for a malformed hook state or configuration file.
    """
    state = _read_state(prefix)
    recorded = _recorded_files(state)
    superseded = _superseded_files(state)
    removed: list[str] = []
    kept: list[str] = []
    candidates = recorded or {item.path: "" for item in render_scripts("")}
    for relative, digest in sorted(candidates.items()):
        path = prefix / relative
        if path.is_dir():
            kept.append(relative)
            continue
        current = _current(path)
        if current is None:
            continue
        if digest:
            ours = _sha256(current) in {digest, superseded.get(relative)}
        else:
            ours = _MARKER.encode() in current[:200]
        if not ours:
            kept.append(relative)
            continue
        path.unlink()
        removed.append(relative)
        if path.suffix == ".py":  # the pip hook's module: its bytecode goes with it
            for cached in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
                cached.unlink(missing_ok=True)
            _remove_if_empty(path.parent / "__pycache__", path.parent)
        elif relative.startswith("etc/"):
            _remove_if_empty(path.parent, prefix / "etc")
    if state is not None:
        config_state = state.get("config")
        if isinstance(config_state, dict):
            _restore_config(prefix, config_state, removed, kept)
        (prefix / STATE_PATH).unlink()
        removed.append(STATE_PATH)
        _remove_if_empty((prefix / STATE_PATH).parent, prefix / "etc")
    notes = tuple(f"{item} was changed since condawheel wrote it: kept" for item in kept)
    return HookResult(removed=tuple(removed), kept=tuple(kept), notes=notes)
