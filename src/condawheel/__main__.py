"""``python -m condawheel``: the same as the ``condawheel`` command."""

from __future__ import annotations

from condawheel.cli import main

if __name__ == "__main__":
    main()
