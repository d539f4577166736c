"""The conda environment side: tag configuration, installing conda wheels, environment hooks.

* :mod:`~condawheel.env.tagconfig`: ``binary-compatibility.cfg`` and the ordered tags an
  environment accepts (pure).
* :mod:`~condawheel.env.interpreter`: the facts of an environment's own interpreter.
* :mod:`~condawheel.env.prefix`: ``conda-meta/`` records and installed distributions.
* :mod:`~condawheel.env.resolve`: pip as the resolver, and the conda preference rule.
* :mod:`~condawheel.env.relocate`: prefix placeholder relocation (pure).
* :mod:`~condawheel.env.install`, :mod:`~condawheel.env.uninstall`: install by plan,
  remove by ``RECORD``.
* :mod:`~condawheel.env.hooks`: the per-environment configuration and activation scripts.

The conda post-command hook that syncs what conda changed is
:mod:`condawheel.cli.conda_plugin`: it drives the wheelhouse sync, which reads
environments, so it sits beside the command line rather than inside ``env``.
"""

from __future__ import annotations
