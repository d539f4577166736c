"""What a conda package says: its archive read as checked members, and its ``info/`` parsed.

* :mod:`.sources`: a ``.conda``, ``.tar.bz2`` or extracted folder as a stream of checked
  members (I/O).
* :mod:`.condameta`: ``info/index.json``, ``paths.json`` (or ``info/files``), ``link.json``
  and ``about.json`` parsed into a typed ``CondaPackage`` (pure).
* :mod:`.subdirs`: the conda subdirs condawheel knows; :mod:`.twins`: which of a ``.conda``
  and ``.tar.bz2`` pair is converted (pure).
* :mod:`.matchspec`: conda MatchSpecs (CEP 29) and versions (CEP 33) (pure).

This package imports nothing of condawheel but :mod:`condawheel.errors` and
:mod:`condawheel.io`, so the linkage analysis, the converter, sync and the environment side
can all read conda's terms through it. Nothing is re-exported here: importing one module
does not load the others.
"""
