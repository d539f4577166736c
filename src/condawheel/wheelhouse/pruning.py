"""``--prune``: remove the wheels whose source artifact no source offers any more."""

from __future__ import annotations

from typing import TYPE_CHECKING

from condawheel.errors import WheelhouseError
from condawheel.wheelhouse.decisions import Adopt, Keep, refreshed_offers, wheels_to_prune
from condawheel.wheelhouse.index import index_wheelhouse
from condawheel.wheelhouse.outcomes import Phase, Pruned

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from condawheel.wheelhouse.context import SyncRun
    from condawheel.wheelhouse.decisions import PruneWheel, SyncActions
    from condawheel.wheelhouse.state import Offer, WheelhouseState

__all__ = ["prune", "prune_candidates", "pruned_report"]


def _remove_wheel(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        raise WheelhouseError(str(path), f"cannot prune: {error.strerror}") from None


def pruned_report(items: Iterable[PruneWheel], *, done: bool) -> tuple[Pruned, ...]:
    """Return what the report says of each pruned wheel; ``done``: removed (not a dry run)."""
    return tuple(
        Pruned(
            wheel=item.wheel,
            source=item.record.artifact_source,
            location=item.record.artifact_location,
            filename=item.record.artifact_filename,
            sha256=item.record.artifact_key,
            done=done,
        )
        for item in items
    )


def prune_candidates(
    run: SyncRun,
    listings: Mapping[str, tuple[tuple[str, ...], list[Offer]]],
    decided: SyncActions,
) -> tuple[PruneWheel, ...]:
    """Return the wheels ``--prune`` removes in this run (none without ``--prune``).

    :param listings: source -> (the scopes listed completely, the offers found there).
    :param decided: the run's actions: a wheel kept or adopted stays.
    """
    if not run.options.prune or run.state is None:
        return ()
    before = run.state.offers()
    staying = {
        wheel
        for action in decided.actions
        if isinstance(action, Keep | Adopt)
        for wheel in (action.wheels if isinstance(action, Keep) else (action.wheel,))
    }
    return wheels_to_prune(
        before,
        refreshed_offers(before, listings),
        run.records,
        refreshed=[(s, scope) for s, (scopes, _) in listings.items() for scope in scopes],
        keep_wheels=staying,
    )


def prune(run: SyncRun, state: WheelhouseState, wheels: Sequence[PruneWheel]) -> None:
    """Remove wheels whose source is gone: from the index, then the files, then the state.

    In that order a crash leaves nothing the index still lists, and a state row whose
    wheel is missing is pruned again by the next run. Pruning comes before converting, so
    that an artifact replaced by other bytes under the same name can land its new wheel.
    """
    run.emit(Phase("pruning"))
    index_wheelhouse(run.wheelhouse, exclude={item.wheel for item in wheels})
    for item in wheels:
        _remove_wheel(run.wheelhouse / item.wheel)
    with state.transaction():
        for item in wheels:
            state.forget_wheel(item.wheel)
    gone = {item.wheel for item in wheels}
    run.records = [record for record in run.records if record.wheel not in gone]
    run.recorded_wheels = run.recorded_wheels - gone
