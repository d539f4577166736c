"""The one error family of condawheel; only the CLI turns these into exit codes."""

from __future__ import annotations

__all__ = [
    "CondawheelError",
    "ConfigError",
    "ExternalDependencyError",
    "InstallError",
    "InvalidMapping",
    "InvalidMatchSpec",
    "InvalidPackage",
    "InvalidRecord",
    "InvalidWheel",
    "MissingDependency",
    "OutputError",
    "SourceError",
    "UnsupportedPackage",
    "WheelExistsError",
    "WheelhouseError",
]


class CondawheelError(Exception):
    """Root of every error condawheel raises on purpose.

    ``subject`` names the input the error is about (a file, a package, a path) so that
    every message can be printed as one line: ``<subject>: <reason>``.
    """

    def __init__(self, subject: str, reason: str) -> None:
        self.subject = subject
        self.reason = reason
        super().__init__(f"{subject}: {reason}")


class InvalidPackage(CondawheelError, ValueError):
    """A conda package is corrupt, truncated, malformed or hostile.

    ``problems`` lists every problem found, so that all of a package's metadata
    errors are reported together instead of one per run.
    """

    def __init__(self, subject: str, problems: str | list[str] | tuple[str, ...]) -> None:
        self.problems = (problems,) if isinstance(problems, str) else tuple(problems)
        super().__init__(subject, "; ".join(self.problems))


class InvalidWheel(CondawheelError, ValueError):
    """A wheel file cannot be read: no zip archive, or a member that does not decompress.

    ``subject`` is the wheel's file name. Readers of wheels made elsewhere (an index of
    someone's wheelhouse, a wheel to install) re-raise it at their own level or report it.
    """


class InvalidRecord(CondawheelError, ValueError):
    """An installed package's ``conda-meta/<dist>.json`` record is unreadable or malformed.

    ``subject`` is the record file. The environment side re-raises it as an
    :class:`InstallError`; a sync or a library index reports it and reads the others.
    """


class MissingDependency(CondawheelError):
    """A library condawheel needs for the task at hand is not installed.

    ``subject`` is the distribution's name. Raised instead of falling back to something
    that would change what condawheel writes.
    """


class InvalidMatchSpec(CondawheelError, ValueError):
    """A conda MatchSpec string (CEP 29) cannot be parsed."""


class UnsupportedPackage(CondawheelError):
    """A valid conda package that condawheel cannot express as one wheel.

    ``problems`` lists every reason found, as :class:`InvalidPackage` does.
    """

    def __init__(self, subject: str, problems: str | list[str] | tuple[str, ...]) -> None:
        self.problems = (problems,) if isinstance(problems, str) else tuple(problems)
        super().__init__(subject, "; ".join(self.problems))


class InvalidMapping(CondawheelError, ValueError):
    """A name-mapping file (``mappings/`` or ``--mapping``) does not follow its schema."""


class WheelExistsError(CondawheelError):
    """The output directory already holds a different wheel with the same file name."""


class OutputError(CondawheelError):
    """A wheel cannot be written: the output directory is full, read-only, or unusable."""


class SourceError(CondawheelError):
    """A source of packages (channel, environment, URL) cannot be read."""


class WheelhouseError(CondawheelError):
    """The wheelhouse is locked, inconsistent, or a sync cannot proceed."""


class ConfigError(CondawheelError, ValueError):
    """A configuration file (``binary-compatibility.cfg``, a system-library policy) is malformed."""


class InstallError(CondawheelError):
    """Installing conda wheels into an environment cannot proceed."""


class ExternalDependencyError(InstallError):
    """A wheel's ``Requires-External`` conda packages are missing from the environment."""
