"""Tests for condawheel.wheelhouse.decisions: the pure decisions of a sync."""

from __future__ import annotations

import msgspec
import pytest

from condawheel.options import PlanOptions, PlatformStamp
from condawheel.wheelhouse.artifacts import Artifact
from condawheel.wheelhouse.decisions import (
    NOT_FOUND_INSTALLED,
    Adopt,
    Convert,
    Fail,
    Identified,
    Keep,
    Skip,
    StateView,
    decide_actions,
    decide_stand_ins,
    offers_of,
    options_fingerprint,
    refreshed_offers,
    wheels_to_prune,
)
from condawheel.wheelhouse.state import ConversionRecord, Offer

SHA_A, SHA_B, SHA_C = "a" * 64, "b" * 64, "c" * 64
WHEEL_A = "demo-1.0-0_py312h0_0-cp312-cp312-conda_linux_64.whl"
OPTIONS = PlanOptions()


def item(
    filename: str = "demo-1.0-py312h0_0.conda",
    key: str | None = SHA_A,
    *,
    source: str = "/channel",
    subdir: str = "linux-64",
    problem: str | None = None,
) -> Identified:
    stem = filename.removesuffix(".conda").removesuffix(".tar.bz2")
    name, version, build = stem.rsplit("-", 2)
    artifact = Artifact(
        source=source,
        kind="file",
        location=f"{source}/{subdir}/{filename}",
        filename=filename,
        subdir=subdir,
        name=name,
        version=version,
        build=build,
    )
    return Identified(artifact, key, 100, problem)


def record(
    key: str,
    wheel: str = WHEEL_A,
    *,
    options_key: str = "o",
    scope: str = "linux-64",
    source: str = "/channel",
) -> ConversionRecord:
    return ConversionRecord(
        artifact_key=key,
        options_key=options_key,
        wheel=wheel,
        wheel_size=10,
        wheel_sha256=None,
        artifact_filename="demo-1.0-py312h0_0.conda",
        artifact_source=source,
        artifact_scope=scope,
        artifact_location=f"{source}/{scope}/demo-1.0-py312h0_0.conda",
        condawheel_version="0",
        options_json="{}",
        converted_at=0.0,
    )


def test_a_new_artifact_is_converted() -> None:
    [action] = decide_actions([item()], StateView(), options=OPTIONS).actions
    assert action == Convert(item(), SHA_A, "new")


def test_a_converted_artifact_whose_wheel_is_there_is_kept() -> None:
    state = StateView({SHA_A: (record(SHA_A),)}, {WHEEL_A: 10})
    assert decide_actions([item()], state, options=OPTIONS).actions == (
        Keep(item(), SHA_A, (WHEEL_A,)),
    )


@pytest.mark.parametrize(
    ("wheels", "reason"),
    [({}, f"its wheel {WHEEL_A} is missing"), ({WHEEL_A: 11}, f"its wheel {WHEEL_A} changed size")],
    ids=["missing", "other-size"],
)
def test_the_wheel_is_the_truth(wheels: dict[str, int], reason: str) -> None:
    state = StateView({SHA_A: (record(SHA_A),)}, wheels)
    assert decide_actions([item()], state, options=OPTIONS).actions == (
        Convert(item(), SHA_A, reason),
    )


def test_only_a_damaged_wheel_of_the_same_artifact_may_be_replaced() -> None:
    # The engine lists as damaged the recorded wheels that are no readable wheel any more.
    damaged = StateView({SHA_A: (record(SHA_A),)}, {WHEEL_A: 0}, damaged={SHA_A: (WHEEL_A,)})
    assert decide_actions([item()], damaged, options=OPTIONS).actions == (
        Convert(item(), SHA_A, f"its wheel {WHEEL_A} is damaged", replaces=(WHEEL_A,)),
    )
    # Recorded with other options: the conversion may still replace it.
    other_options = StateView({}, {WHEEL_A: 0}, damaged={SHA_A: (WHEEL_A,)})
    assert decide_actions([item()], other_options, options=OPTIONS).actions == (
        Convert(item(), SHA_A, "new", replaces=(WHEEL_A,)),
    )
    # Another artifact's damaged wheel is not this one's to replace.
    [action] = decide_actions([item(key=SHA_B)], damaged, options=OPTIONS).actions
    assert action == Convert(item(key=SHA_B), SHA_B, "new")


SPLIT = (
    "alpha-1.0-0_py312h0_0-cp312-none-conda_linux_64.whl",
    "beta-1.0-0_py312h0_0-cp312-none-conda_linux_64.whl",
    "conda_pkg_demo-1.0-0_py312h0_0-py3-none-conda_linux_64.whl",
)
"""The wheels of a package split by its Python distributions: one artifact, three wheels."""


def test_a_split_package_is_kept_only_while_every_wheel_is_intact() -> None:
    records = tuple(record(SHA_A, wheel) for wheel in SPLIT)
    present = dict.fromkeys(SPLIT, 10)
    kept = StateView({SHA_A: records}, present)
    assert decide_actions([item()], kept, options=OPTIONS).actions == (Keep(item(), SHA_A, SPLIT),)

    missing = StateView({SHA_A: records}, {SPLIT[0]: 10, SPLIT[1]: 10})
    assert decide_actions([item()], missing, options=OPTIONS).actions == (
        Convert(item(), SHA_A, f"its wheel {SPLIT[2]} is missing"),
    )
    damaged = StateView(
        {SHA_A: records}, present, damaged={SHA_A: (SPLIT[1],)}, changed=frozenset({SPLIT[1]})
    )
    assert decide_actions([item()], damaged, options=OPTIONS).actions == (
        Convert(item(), SHA_A, f"its wheel {SPLIT[1]} is damaged", replaces=(SPLIT[1],)),
    )
    # Other options: the run's view has no record of the artifact, all of it is converted.
    assert decide_actions([item()], StateView({}, present), options=OPTIONS).actions == (
        Convert(item(), SHA_A, "new"),
    )


def test_prune_removes_every_wheel_of_a_split_package() -> None:
    before = [Offer("/channel", "linux-64", "/channel/linux-64/demo-1.0-py312h0_0.conda", SHA_A)]
    records = [record(SHA_A, wheel) for wheel in SPLIT]
    pruned = wheels_to_prune(before, [], records, refreshed=[("/channel", "linux-64")])
    assert [item.wheel for item in pruned] == sorted(SPLIT)


def test_an_untracked_wheel_naming_the_artifact_is_adopted_if_its_platform_fits() -> None:
    noarch = "demo-1.0-0_py312h0_0-py3-none-conda.whl"
    state = StateView({}, {WHEEL_A: 10, noarch: 5}, {SHA_A: (noarch, WHEEL_A)})

    # linux-64 artifacts make conda_linux_64 wheels: the noarch-tagged one is not it.
    assert decide_actions([item()], state, options=OPTIONS).actions == (
        Adopt(item(), SHA_A, WHEEL_A),
    )
    other_prefix = PlanOptions(platform_prefix="condaforge")
    assert decide_actions([item()], state, options=other_prefix).actions == (
        Convert(item(), SHA_A, "new"),
    )


def test_conda_beats_tar_bz2_of_the_same_source_only() -> None:
    conda = item("demo-1.0-py312h0_0.conda", SHA_A)
    bz2 = item("demo-1.0-py312h0_0.tar.bz2", SHA_B)
    elsewhere = item("demo-1.0-py312h0_0.tar.bz2", SHA_C, source="/other")

    actions = decide_actions([bz2, conda, elsewhere], StateView(), options=OPTIONS).actions

    assert actions == (
        Skip(bz2, "same package as demo-1.0-py312h0_0.conda (.conda preferred)", twin=conda),
        Convert(conda, SHA_A, "new"),
        Convert(elsewhere, SHA_C, "new"),
    )


def test_a_tar_bz2_stands_in_only_for_its_own_failed_conda() -> None:
    conda = item("demo-1.0-py312h0_0.conda", SHA_A)
    bz2 = item("demo-1.0-py312h0_0.tar.bz2", SHA_B)
    other_conda = item("other-1.0-py312h0_0.conda", SHA_C)
    other_bz2 = item("other-1.0-py312h0_0.tar.bz2", "d" * 64)
    items = [bz2, conda, other_conda, other_bz2]
    wheel = "demo-1.0-0_py312h0_0-cp312-cp312-conda_linux_64.whl"
    state = StateView({SHA_B: (record(SHA_B, wheel),)}, {wheel: 10})
    decided = decide_actions(items, state, options=OPTIONS)

    assert decide_stand_ins(decided, [], state, options=OPTIONS) == ()
    # demo's .conda failed: its .tar.bz2 is decided (its wheel is there: kept); other's
    # .conda did not fail, so its .tar.bz2 stays skipped.
    assert decide_stand_ins(decided, [1], state, options=OPTIONS) == (
        (0, Keep(bz2, SHA_B, (wheel,))),
    )
    assert decide_stand_ins(decided, [1, 2], StateView(), options=OPTIONS) == (
        (0, Convert(bz2, SHA_B, "new")),
        (3, Convert(other_bz2, "d" * 64, "new")),
    )
    # Rule 3 still holds: bytes decided in the first round (another source offers the
    # same .tar.bz2 on its own) are not converted again.
    mirrored = item("demo-1.0-py312h0_0.tar.bz2", SHA_B, source="/mirror")
    decided = decide_actions([bz2, conda, mirrored], StateView(), options=OPTIONS)
    assert decide_stand_ins(decided, [1], StateView(), options=OPTIONS) == (
        (0, Skip(bz2, f"same artifact as {mirrored.artifact.location} (sha256 bbbbbbbbbbbb...)")),
    )


def test_a_conda_that_fails_its_identity_asks_for_the_adoption_view() -> None:
    conda = item("demo-1.0-py312h0_0.conda", SHA_A, problem="cannot be read: gone")
    bz2 = item("demo-1.0-py312h0_0.tar.bz2", SHA_B)
    wheel = "demo-1.0-0_py312h0_0-cp312-cp312-conda_linux_64.whl"
    state = StateView({SHA_B: (record(SHA_B, wheel),)}, {wheel: 10})

    # Nothing else to convert, but the .tar.bz2 will be decided: untracked wheels count.
    assert decide_actions([conda, bz2], StateView(), options=OPTIONS).needs_adoption_view
    assert not decide_actions([conda], state, options=OPTIONS).needs_adoption_view


def test_the_same_bytes_offered_twice_are_converted_once() -> None:
    first, second = item(), item(source="/mirror")

    actions = decide_actions([first, second], StateView(), options=OPTIONS).actions

    assert actions[0] == Convert(first, SHA_A, "new")
    assert actions[1] == Skip(
        second, f"same artifact as {first.artifact.location} (sha256 aaaaaaaaaaaa...)"
    )


def test_problems_and_unknown_identities_fail() -> None:
    broken = item(problem="sha256 x does not match repodata.json's y")
    unknown = item(key=None)

    actions = decide_actions([broken, unknown], StateView(), options=OPTIONS).actions

    assert actions == (
        Fail(broken, "sha256 x does not match repodata.json's y"),
        Fail(unknown, "its identity (sha256) is unknown"),
    )


def test_an_installed_package_found_nowhere_fails_only_if_it_must_be_converted() -> None:
    installed = item()
    artifact = msgspec.structs.replace(installed.artifact, kind="installed")
    installed = msgspec.structs.replace(installed, artifact=artifact)
    state = StateView({SHA_A: (record(SHA_A),)}, {WHEEL_A: 10})

    assert decide_actions([installed], StateView(), options=OPTIONS).actions == (
        Fail(installed, NOT_FOUND_INSTALLED),
    )
    assert decide_actions([installed], state, options=OPTIONS).actions == (
        Keep(installed, SHA_A, (WHEEL_A,)),
    )


def test_options_fingerprint_ignores_what_does_not_change_the_output() -> None:
    key, text = options_fingerprint(PlanOptions(), [])

    assert key == options_fingerprint(PlanOptions(), [])[0]
    assert key != options_fingerprint(PlanOptions(platform_prefix="condaforge"), [])[0]
    assert key != options_fingerprint(PlanOptions(source_date_epoch=1), [])[0]
    assert key != options_fingerprint(PlanOptions(), ["d" * 64])[0]
    assert '"platform_prefix":"conda"' in text


def test_default_options_keep_the_key_states_were_written_with() -> None:
    # The document (hence the key) of stamp-less options is the one recorded before
    # stamps existed: a wheelhouse's conversions stay "kept", not redone.
    _, text = options_fingerprint(PlanOptions(), [])
    assert text == (
        '{"mappings":[],"platform_prefix":"conda","platform_tag":null,"source_date_epoch":null}'
    )


def test_a_stamp_and_its_subdir_are_part_of_the_key() -> None:
    plain = options_fingerprint(PlanOptions(), [])[0]
    linux = options_fingerprint(PlanOptions(platform_stamp=PlatformStamp("linux-64", "s")), [])[0]
    osx = options_fingerprint(PlanOptions(platform_stamp=PlatformStamp("osx-64", "s")), [])[0]
    assert len({plain, linux, osx}) == 3


def test_adoption_under_a_stamp_follows_the_subdir_rule() -> None:
    stamped = "demo-1.0-0_py312h0_0-cp312-cp312-site_linux_64.whl"
    noarch = "tool-1.0-0_0-py3-none-conda.whl"
    windows = "demo-1.0-0_py312h0_0-cp312-cp312-site_linux_64.whl"
    linux_item = item()
    noarch_item = item("tool-1.0-0.conda", SHA_B, subdir="noarch")
    windows_item = item(key=SHA_C, subdir="win-64")
    state = StateView(
        {},
        {stamped: 1, noarch: 1, WHEEL_A: 1},
        {SHA_A: (WHEEL_A, stamped), SHA_B: (noarch,), SHA_C: (windows,)},
    )
    options = PlanOptions(platform_stamp=PlatformStamp("linux-64", "site_linux_64"))

    assert decide_actions(
        [linux_item, noarch_item, windows_item], state, options=options
    ).actions == (
        Adopt(linux_item, SHA_A, stamped),  # not the default-tagged one
        Adopt(noarch_item, SHA_B, noarch),  # noarch keeps its tag under a stamp
        Convert(windows_item, SHA_C, "new"),  # refused by the conversion, never adopted
    )


# ---------------------------------------------------------------------------- prune


def test_a_key_that_lost_its_last_offer_is_pruned() -> None:
    before = [Offer("/channel", "linux-64", "/channel/linux-64/a.conda", SHA_A)]
    records = [record(SHA_A)]
    after = refreshed_offers(before, {"/channel": (("linux-64",), [])})

    pruned = wheels_to_prune(before, after, records, refreshed=[("/channel", "linux-64")])

    assert [(p.wheel, p.record.artifact_key) for p in pruned] == [(WHEEL_A, SHA_A)]


def test_a_key_another_source_still_offers_stays() -> None:
    before = [
        Offer("/channel", "linux-64", "/channel/linux-64/a.conda", SHA_A),
        Offer("/mirror", "linux-64", "/mirror/linux-64/a.conda", SHA_A),
    ]
    after = refreshed_offers(before, {"/channel": (("linux-64",), [])})

    assert (
        wheels_to_prune(before, after, [record(SHA_A)], refreshed=[("/channel", "linux-64")]) == ()
    )


def test_only_completely_listed_scopes_prune() -> None:
    before = [Offer("/channel", "osx-64", "/channel/osx-64/a.conda", SHA_A)]
    records = [record(SHA_A, scope="osx-64")]
    # The run listed linux-64 only (osx-64 failed, or --subdir linux-64).
    after = refreshed_offers(before, {"/channel": (("linux-64",), [])})

    assert wheels_to_prune(before, after, records, refreshed=[("/channel", "linux-64")]) == ()


def test_a_record_whose_location_now_offers_other_bytes_is_pruned() -> None:
    # An earlier sync without --prune already replaced the offer of that location.
    before = [Offer("/channel", "linux-64", "/channel/linux-64/demo-1.0-py312h0_0.conda", SHA_B)]
    records = [record(SHA_A), record(SHA_B, "demo-1.0-other.whl")]

    pruned = wheels_to_prune(before, before, records, refreshed=[("/channel", "linux-64")])

    assert [p.wheel for p in pruned] == [WHEEL_A]


def test_wheels_kept_by_this_run_or_by_live_records_are_not_pruned() -> None:
    before = [Offer("/channel", "linux-64", "/x", SHA_A)]
    records = [record(SHA_A), record(SHA_C, options_key="other", source="/mirror")]
    after = refreshed_offers(before, {"/channel": (("linux-64",), [])})
    refreshed = [("/channel", "linux-64")]

    assert wheels_to_prune(before, after, records, refreshed=refreshed, keep_wheels=[WHEEL_A]) == ()
    # SHA_C's record claims the same wheel name and is not gone: the wheel stays.
    assert wheels_to_prune(before, after, records, refreshed=refreshed) == ()


def test_offers_of_keeps_identified_artifacts_of_listed_scopes() -> None:
    items = [item(), item("x-1-0.conda", SHA_B, subdir="noarch"), item("y-1-0.conda", None)]

    assert offers_of(items, ["linux-64"]) == [
        Offer("/channel", "linux-64", "/channel/linux-64/demo-1.0-py312h0_0.conda", SHA_A)
    ]
