"""The pip hook's patches, run inside a conda environment's interpreter (stdlib only, 3.8+).

``condawheel hook install`` copies this file into the environment's site-packages as
``_condawheel_pip_hook_patches.py``, beside the start-up module ``_condawheel_pip_hook.py``
(:mod:`condawheel.env.pip_hook_start`), which imports it only when a process imports
``packaging.tags`` or pip's vendored ``pip._vendor.packaging.tags``. condawheel itself need
not be importable there (it may live in pipx or another virtual environment), so this module
imports nothing but the standard library and calls condawheel only as a subprocess.

When one of those tags modules is executed, its ``cpython_tags`` and
``generic_tags`` are wrapped: called for the running interpreter (no argument, as
``sys_tags()`` and pip's ``get_supported()`` call them), they yield the environment's conda
tags first, then the interpreter's own. The conda tags are what ``condawheel tags`` lists:
``packaging.tags`` applied to the platforms of ``binary-compatibility.cfg`` (the system file,
then the environment's own, whose entry wins; without an entry, the default that ``hook
install`` recorded). They are computed on first use, not at start-up. Explicit arguments
(``pip download --platform ...``) are left alone.

In pip, conda tags are only offered once pip's internals are recognised, because pip alone
would install a conda wheel without relocating its prefix placeholders, restoring its
symbolic links, protecting conda's files or checking its ``Requires-External``:

* ``pip._internal.operations.install.wheel.install_wheel`` is wrapped: a wheel with a conda
  platform tag is installed by the condawheel that hooked the environment (its interpreter is
  recorded in ``etc/condawheel/pip-hook.json``), run as ``condawheel hook install-wheel``;
  a refusal becomes pip's one-line ``ERROR:`` and pip rolls back. Any other wheel is pip's.
* ``CandidateEvaluator._sort_key`` ranks a conda build above a non-conda wheel of any version
  (after pip's hash and yank rules), as ``condawheel install --prefer conda`` does;
  ``CONDAWHEEL_PREFER=newest`` keeps pip's version order.

It fails open: if any of this is missing or shaped differently, pip runs as if the hook were
absent (no conda tags, so no conda wheel) after one warning line. ``CONDAWHEEL_PIP_HOOK=0``
switches the hook off in a process (condawheel sets it for the pip and probes it runs).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from types import ModuleType

MODULE_NAME = "_condawheel_pip_hook_patches"
SWITCH = "CONDAWHEEL_PIP_HOOK"  # the start-up module's too
PREFER = "CONDAWHEEL_PREFER"
DATA_PATH = ("etc", "condawheel", "pip-hook.json")
CONFIG_NAME = "binary-compatibility.cfg"
PIP_TAGS = "pip._vendor.packaging.tags"
# pip's install_wheel(name, wheel_path, scheme, req_description, ...): pip 22.2 to 26.3.
INSTALL_WHEEL_PARAMETERS = ("name", "wheel_path", "scheme", "req_description")
SCHEME_KEYS = ("purelib", "platlib", "scripts", "data")
_PLATFORM_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_PATCHED = "_condawheel_pip_hook_patched"


class _State:
    """What one process learned; each fact is computed at most once."""

    warned = False
    data: dict[str, object] | None = None
    platforms: tuple[str, ...] | None = None
    pip_ready: bool | None = None
    conda_files: dict[str, bool] = {}  # noqa: RUF012 - one process-wide cache


def warn(message: str) -> None:
    """Print one warning line on stderr, once per process."""
    if _State.warned:
        return
    _State.warned = True
    try:
        sys.stderr.write(f"condawheel pip hook: {message}\n")
    except (AttributeError, OSError, ValueError):  # no usable stderr (pythonw, closed)
        pass


def patch_tags(module: ModuleType) -> None:
    """Wrap a ``packaging.tags`` module's ``cpython_tags`` and ``generic_tags`` (fail open)."""
    try:
        if getattr(module, _PATCHED, False):
            return
        originals = {name: getattr(module, name) for name in ("cpython_tags", "generic_tags")}
        compatible = module.compatible_tags
        interpreter_name = module.interpreter_name
    except AttributeError as error:
        warn(f"{module.__name__} is not the packaging.tags it knows ({error}); no conda tags")
        return
    is_pip = module.__name__ == PIP_TAGS
    computed: list[list[object]] = []  # once per module and process

    def conda_tags() -> list[object]:
        if computed:
            return computed[0]
        platforms = conda_platforms()
        if not platforms or (is_pip and not arm_pip()):
            tags: list[object] = []
        else:
            kind = "cpython_tags" if interpreter_name() == "cp" else "generic_tags"
            tags = list(originals[kind](None, None, platforms))
            tags += [tag for tag in compatible(None, None, platforms) if tag.platform != "any"]
        computed.append(list(dict.fromkeys(tags)))
        return computed[0]

    def own(
        original: Callable[..., Iterator[object]],
        first: object,
        abis: object,
        platforms: object,
        options: dict[str, object],
    ) -> Iterator[object]:
        tags: Iterator[object] = original(first, abis, platforms, **options)
        if abis is not None or platforms is not None:
            return tags  # asked about other ABIs or platforms: not this environment's tags
        try:
            block = conda_tags()
        except Exception as error:  # noqa: BLE001 - fail open, whatever went wrong
            warn(f"cannot compute the conda tags ({error!r}); no conda tags")
            block = []
        return _chain(block, tags)

    def cpython_tags(
        python_version: object = None,
        abis: object = None,
        platforms: object = None,
        **options: object,
    ) -> Iterator[object]:
        original = originals["cpython_tags"]
        if python_version is not None:  # another Python version (pip --python-version)
            result: Iterator[object] = original(python_version, abis, platforms, **options)
            return result
        return own(original, python_version, abis, platforms, options)

    def generic_tags(
        interpreter: object = None,
        abis: object = None,
        platforms: object = None,
        **options: object,
    ) -> Iterator[object]:
        # pip passes the running interpreter's own name (pp310) when none was asked for.
        original = originals["generic_tags"]
        if interpreter is not None and interpreter != own_interpreter():
            other: Iterator[object] = original(interpreter, abis, platforms, **options)
            return other
        return own(original, interpreter, abis, platforms, options)

    def own_interpreter() -> str:
        return f"{interpreter_name()}{module.interpreter_version()}"

    cpython_tags.__wrapped__ = originals["cpython_tags"]  # type: ignore[attr-defined]
    generic_tags.__wrapped__ = originals["generic_tags"]  # type: ignore[attr-defined]
    setattr(module, "cpython_tags", cpython_tags)  # noqa: B010 - a module of unknown shape
    setattr(module, "generic_tags", generic_tags)  # noqa: B010
    setattr(module, _PATCHED, True)


def _chain(first: Sequence[object], rest: Iterable[object]) -> Iterator[object]:
    yield from first
    seen = set(first)
    for tag in rest:
        if tag not in seen:
            yield tag


def prefix() -> str:
    """Return the environment: the running interpreter's ``sys.prefix``."""
    return sys.prefix


def load_data() -> dict[str, object]:
    """Return what ``hook install`` recorded (``etc/condawheel/pip-hook.json``); ``{}`` if none."""
    if _State.data is None:
        import json  # noqa: PLC0415 - only processes that compute tags pay for it

        try:
            with open(os.path.join(prefix(), *DATA_PATH), "rb") as handle:
                document = json.loads(handle.read())
        except (OSError, ValueError):
            document = {}
        _State.data = document if isinstance(document, dict) else {}
    return _State.data


class ConfigProblem(Exception):
    """A ``binary-compatibility.cfg`` the hook cannot use (the message names the rule)."""


def _platform(where: str, value: object) -> str:
    if not isinstance(value, str) or not value or not _PLATFORM_CHARACTERS.issuperset(value):
        msg = f"{where} is {value!r}, not a platform tag (lowercase letters, digits, '_')"
        raise ConfigProblem(msg)
    return value


def entry_platforms(path: str, document: object, base_platform: str) -> tuple[str, ...] | None:
    """Return the platforms of the entry for ``base_platform`` (``None``: no entry).

    The rule of ``condawheel.env.tagconfig.PlatformEntry.platforms``: ``build`` first unless
    ``install`` lists it, then ``install``, each once.

    :raises ConfigProblem: for a file that is not an object of entries, or a bad entry.
    """
    if not isinstance(document, dict):
        msg = f"{path}: must hold a JSON object of platforms"
        raise ConfigProblem(msg)
    entry = document.get(base_platform)
    if entry is None:
        return None
    if not isinstance(entry, dict) or set(entry) - {"build", "install"}:
        msg = f"{path}: {base_platform!r} must map to an object with 'build' and 'install'"
        raise ConfigProblem(msg)
    build = entry.get("build")
    listed = entry.get("install", [])
    if not isinstance(listed, list):
        msg = f"{path}: {base_platform!r} 'install' must be a list of platform tags"
        raise ConfigProblem(msg)
    install = [_platform(f"{path}: 'install'", item) for item in listed]
    first = [] if build is None or build in install else [_platform(f"{path}: 'build'", build)]
    return tuple(dict.fromkeys(first + install))


def base_platform() -> str:
    """Return the interpreter's base platform as a tag (PEP 425: ``linux_x86_64``)."""
    import sysconfig  # noqa: PLC0415 - lazily: start-up must stay cheap

    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


def read_platforms(files: Sequence[str], platform: str, default: Sequence[str]) -> tuple[str, ...]:
    """Return the configured conda platforms: the last file with an entry wins.

    :raises ConfigProblem: for an unreadable or malformed file.
    """
    import json  # noqa: PLC0415 - lazily

    found: tuple[str, ...] | None = None
    for path in files:
        try:
            with open(path, "rb") as handle:
                document = json.loads(handle.read())
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as error:
            msg = f"{path}: cannot be read as JSON ({error})"
            raise ConfigProblem(msg) from None
        entry = entry_platforms(path, document, platform)
        if entry is not None:
            found = entry
    return tuple(default) if found is None else found


def conda_platforms() -> tuple[str, ...]:
    """Return this environment's conda platforms, read once (``()`` after a warning)."""
    if _State.platforms is None:
        data = load_data()
        system = data.get("system_config", "/etc/python/" + CONFIG_NAME)
        files = [str(system)] if system else []
        files.append(os.path.join(prefix(), CONFIG_NAME))
        raw_default = data.get("default_platforms", [])
        default = [str(item) for item in raw_default] if isinstance(raw_default, list) else []
        try:
            _State.platforms = read_platforms(files, base_platform(), default)
        except ConfigProblem as problem:
            warn(f"{problem}; no conda tags")
            _State.platforms = ()
    return _State.platforms


def wheel_platforms(filename: str) -> tuple[str, ...]:
    """Return the platform tags of a wheel file name (PEP 427; compressed sets expanded)."""
    stem = filename[: -len(".whl")] if filename.endswith(".whl") else filename
    return tuple(stem.rsplit("-", 1)[-1].split("."))


def is_conda_file(filename: str) -> bool:
    """Return whether a wheel file carries one of the environment's conda platform tags."""
    known = _State.conda_files.get(filename)
    if known is None:
        platforms = set(conda_platforms())
        known = filename.endswith(".whl") and bool(platforms & set(wheel_platforms(filename)))
        _State.conda_files[filename] = known
    return known


def arm_pip() -> bool:
    """Wrap pip's wheel installation and candidate order; ``False`` (and a warning) if unknown."""
    if _State.pip_ready is None:
        try:
            problem = _arm_pip()
        except Exception as error:  # noqa: BLE001 - fail open, whatever pip looks like
            problem = repr(error)
        if problem is not None:
            version = getattr(sys.modules.get("pip"), "__version__", "?")
            warn(
                f"pip {version} is not a pip whose internals this hook knows ({problem}); "
                "pip runs without conda tags (use `condawheel install` for conda wheels)"
            )
        _State.pip_ready = problem is None
    return _State.pip_ready


def _arm_pip() -> str | None:
    # Imported here, while pip runs a command, never while pip is still importing.
    from pip._internal.exceptions import InstallationError  # noqa: PLC0415
    from pip._internal.index import package_finder  # noqa: PLC0415
    from pip._internal.operations.install import wheel as install_module  # noqa: PLC0415

    install_wheel: Callable[..., None] | None = getattr(install_module, "install_wheel", None)
    code = getattr(install_wheel, "__code__", None)
    if install_wheel is None or code is None:
        return "pip._internal.operations.install.wheel.install_wheel"
    if tuple(code.co_varnames[:4]) != INSTALL_WHEEL_PARAMETERS:
        return "pip._internal.operations.install.wheel.install_wheel(name, wheel_path, ...)"
    evaluator = getattr(package_finder, "CandidateEvaluator", None)
    sort_key = getattr(evaluator, "_sort_key", None)
    if not callable(sort_key):
        return "pip._internal.index.package_finder.CandidateEvaluator._sort_key"
    if not getattr(install_wheel, _PATCHED, False):
        wrapped = _wrap_install_wheel(install_wheel, InstallationError)
        setattr(install_module, "install_wheel", wrapped)  # noqa: B010 - pip's own name
        # pip before 24.1 bound the name at import time (from ... import install_wheel).
        req_install = sys.modules.get("pip._internal.req.req_install")
        if getattr(req_install, "install_wheel", None) is install_wheel:
            setattr(req_install, "install_wheel", wrapped)  # noqa: B010
    if not getattr(sort_key, _PATCHED, False):
        setattr(evaluator, "_sort_key", _wrap_sort_key(sort_key))  # noqa: B010
    return None


def _wrap_sort_key(
    original: Callable[[object, object], object],
) -> Callable[[object, object], object]:
    prefer_newest = os.environ.get(PREFER, "conda") == "newest"

    def sort_key(self: object, candidate: object) -> object:
        key = original(self, candidate)
        if prefer_newest or not isinstance(key, tuple) or len(key) < 4:  # noqa: PLR2004
            return key
        link = getattr(candidate, "link", None)
        conda = int(is_conda_file(str(getattr(link, "filename", ""))))
        # pip's key: (allowed hash, not yanked, binary preference, version, tag rank, build);
        # conda-ness goes before the version, after the rules about hashes and yanks.
        return (*key[:3], conda, *key[3:])

    setattr(sort_key, _PATCHED, True)
    return sort_key


def _wrap_install_wheel(
    original: Callable[..., None], failure: type[Exception]
) -> Callable[..., None]:
    def install_wheel(
        name: str,
        wheel_path: str,
        scheme: object,
        req_description: str,
        *arguments: object,
        **options: object,
    ) -> None:
        if not is_conda_file(os.path.basename(wheel_path)):
            original(name, wheel_path, scheme, req_description, *arguments, **options)
            return
        requested = options.get("requested", arguments[3] if len(arguments) > 3 else False)  # noqa: PLR2004
        try:
            problem = install_through_condawheel(
                name, wheel_path, scheme, requested=bool(requested)
            )
        except Exception as error:  # noqa: BLE001 - a conda wheel is never left to pip alone
            problem = f"condawheel could not install {os.path.basename(wheel_path)}: {error!r}"
        if problem is not None:
            raise failure(problem)

    setattr(install_wheel, _PATCHED, True)
    return install_wheel


def _same_path(left: str, right: str) -> bool:
    return os.path.normcase(os.path.realpath(left)) == os.path.normcase(os.path.realpath(right))


def scheme_problem(name: str, filename: str, scheme: object) -> str | None:
    """Return why pip's scheme is not the environment's own (``--target``, ``--user``...)."""
    import sysconfig  # noqa: PLC0415 - lazily

    own = sysconfig.get_paths()
    for key in SCHEME_KEYS:
        value = getattr(scheme, key, None)
        if not isinstance(value, str) or not _same_path(value, own[key]):
            return (
                f"condawheel: {filename} is a conda wheel; it installs only into the "
                f"environment itself, not into pip's {key} {value!r} (--target, --prefix, "
                f"--root or --user): use `condawheel install {name} --prefix {prefix()}`"
            )
    return None


def install_through_condawheel(
    name: str, wheel_path: str, scheme: object, *, requested: bool
) -> str | None:
    """Install a conda wheel with the recorded condawheel; return the refusal, if any."""
    import subprocess  # noqa: PLC0415 - only when a conda wheel is installed

    filename = os.path.basename(wheel_path)
    problem = scheme_problem(name, filename, scheme)
    if problem is not None:
        return problem
    data = load_data()
    python = data.get("condawheel_python")
    gone = (
        f"condawheel: {filename} is a conda wheel, which pip installs through condawheel "
        "(prefix relocation, symbolic links, conda's files, Requires-External), and the "
        f"condawheel that hooked this environment ({python}) is gone; reinstall condawheel "
        f"and run `condawheel hook install --prefix {prefix()}`, or install with "
        f"`condawheel install {name} --prefix {prefix()}`"
    )
    if not isinstance(python, str) or not os.path.isfile(python):
        return gone
    command = [python, "-m", "condawheel", "hook", "install-wheel", wheel_path]
    command += ["--prefix", prefix()]
    system = data.get("system_config")
    if system:
        command += ["--system-config", str(system)]
    if requested:
        command.append("--requested")
    # The environment's PYTHON* settings are not condawheel's (it may be another Python).
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    environment[SWITCH] = "0"
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)
    if done.returncode == 0:
        if done.stderr.strip():
            sys.stderr.write(done.stderr)
        return None
    if "No module named condawheel" in done.stderr:
        return gone
    reason = " ".join(done.stderr.split())
    for prefix_word in ("error: ", "Error: "):
        if reason.startswith(prefix_word):
            reason = reason[len(prefix_word) :]
    return f"condawheel: {reason or f'exit code {done.returncode}'}"
