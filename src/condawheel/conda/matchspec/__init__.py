"""Conda MatchSpecs (CEP 29) and versions (CEP 33): parse, match, translate to PEP 440 (pure).

The package works in layers, each usable on its own:

* :mod:`.versions`: :func:`compare_conda_versions` orders conda versions as conda and
  rattler do (CEP 33); :func:`is_conda_version` says whether a string is one.
* :mod:`.versionspec`: a version spec (``>=1.8,<2|1.7.*``) read into a tree of clauses,
  which the layers below share.
* :mod:`.parsing`: :func:`parse_matchspec` splits a MatchSpec string into a
  :class:`ParsedMatchSpec` (channel, name, version, build, brackets).
* :mod:`.matching`: :func:`version_matches` decides whether a conda version satisfies a
  version spec, on the conda side; :func:`pattern_matches` matches a build string (or a
  version) against a glob or ``^regex$``.
* :mod:`.pep440`: :func:`conda_version_to_pep440` maps one conda version to a PEP 440
  ``Version``; :func:`pep440_agrees` says where conda and PEP 440 order two versions alike.
* :mod:`.translation`: :func:`translate_version_spec` turns a version spec into a
  ``SpecifierSet`` and says how faithful that is (:data:`Fidelity`);
  :func:`to_requirement` makes the PEP 508 requirement.

Where conda and py-rattler disagree, rattler is followed: it is the reference
implementation the differential tests run against.
"""

from __future__ import annotations

from condawheel.conda.matchspec.matching import pattern_matches, version_matches
from condawheel.conda.matchspec.parsing import ParsedMatchSpec, parse_matchspec
from condawheel.conda.matchspec.pep440 import conda_version_to_pep440, pep440_agrees
from condawheel.conda.matchspec.translation import (
    Fidelity,
    VersionTranslation,
    to_requirement,
    translate_version_spec,
)
from condawheel.conda.matchspec.versions import compare_conda_versions, is_conda_version

__all__ = [
    "Fidelity",
    "ParsedMatchSpec",
    "VersionTranslation",
    "compare_conda_versions",
    "conda_version_to_pep440",
    "is_conda_version",
    "parse_matchspec",
    "pattern_matches",
    "pep440_agrees",
    "to_requirement",
    "translate_version_spec",
    "version_matches",
]
