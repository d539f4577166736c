"""One conda package into conda wheels: read once, analyse, decide, write.

The stages, in the order the data flows through them (:mod:`.core` runs them):

* reading: :mod:`.ingest` (one pass over the payload: hashes, script heads, binary facts)
  and :mod:`.spool` (bodies deflated into an on-disk spool) (I/O);
* analysis: :mod:`.analysis` (what a package is, every problem at once), with
  :mod:`.wheelmakers` (packages made from wheels) (pure);
* decisions: :mod:`.layout` (conda paths to wheel paths), :mod:`.markers`, :mod:`.deps`
  and :mod:`.depurls` (what each dependency becomes), :mod:`.names` and
  :mod:`.mappingformats` (conda to PyPI names), :mod:`.distinfo`, :mod:`.plan` (every
  decision, into a ``WheelPlan``) and :mod:`.splitting` (one plan per distribution) (pure);
* writing: :mod:`.zipwriter` and :mod:`.writer` (the plan into a ``.whl``, published
  atomically) (I/O);
* :mod:`.report`: the plan for people and for ``--json``.

:func:`convert` is the library's entry point; :func:`plan_package` and
:func:`plan_packages` stop before writing (``condawheel inspect``).
"""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`: a deflate helper process imports this package,
# and typing alone would cost it a third of its start (mypy knows the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from condawheel.convert.core import (
        ArtifactHints,
        ConversionResult,
        convert,
        plan_package,
        plan_packages,
    )

__all__ = ["ArtifactHints", "ConversionResult", "convert", "plan_package", "plan_packages"]


def __getattr__(name: str) -> Any:  # noqa: ANN401 - PEP 562: whatever the name is
    # The entry points are imported on first use (PEP 562), not with the package: the
    # deflate helper process (:mod:`.deflater`) imports :mod:`.spool` alone, and should
    # not pay for the whole converter.
    if name in __all__:
        from condawheel.convert import core  # noqa: PLC0415

        return getattr(core, name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
