"""The conda environment side: tag configuration, installing conda wheels, environment hooks.

* :mod:`~condawheel.env.tagconfig`: ``binary-compatibility.cfg`` and the ordered tags an
  environment accepts (pure).
* :mod:`~condawheel.env.interpreter`: the facts of an environment's own interpreter.
* :mod:`~condawheel.env.prefix`: ``conda-meta/`` records and installed distributions.
* :mod:`~condawheel.env.resolve`: pip as the resolver, and the conda preference rule.
* :mod:`~condawheel.env.relocate`: prefix placeholder relocation (pure).
* :mod:`~condawheel.env.paths`: paths judged with both separators, and where a path
  really lands through symbolic links.
* :mod:`~condawheel.env.install`: the install, resolved with pip, in steps of their own:
  :mod:`~condawheel.env.destinations` (where files go), :mod:`~condawheel.env.decisions`
  (what to install and what to refuse, pure), :mod:`~condawheel.env.staging` (installer,
  relocation, links), :mod:`~condawheel.env.commit` (into the prefix, never writing
  through a file) and :mod:`~condawheel.env.records` (bytecode and ``RECORD``).
* :mod:`~condawheel.env.uninstall`: remove by ``RECORD``.
* :mod:`~condawheel.env.hooks`: the per-environment configuration and activation scripts.

The conda post-command hook that syncs what conda changed is
:mod:`condawheel.cli.conda_plugin`: it drives the wheelhouse sync, which reads
environments, so it sits beside the command line rather than inside ``env``.
"""

from __future__ import annotations
