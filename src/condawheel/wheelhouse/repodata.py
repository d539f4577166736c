"""Read ``repodata.json`` as a stream, selection first, with bounded memory (pure parsing).

A million-record ``repodata.json`` is half a gigabyte of JSON; parsing it whole into
Python objects takes gigabytes and many seconds, although a sync of a slice of the
channel needs only that slice. So the document is read in blocks of a few MiB as it
arrives (from a file, a download, a decompressor):

* the top level (``info``, ``packages``, ``packages.conda``, CEP 48's ``v3``, and keys
  condawheel does not use) is walked exactly, token by token;
* inside a map of records, a block is cut after its last record: the cut is where a
  ``}`` is followed by ``, "<name>-<version>-<build>...": {``, and msgspec checks it,
  decoding the block into *file name -> raw record* without building the records. A cut
  that was not between two records (the text also occurs inside a string, or a nested
  object) makes that decode fail, and the block is then read record by record, exactly;
* only the records whose file name passes the caller's filter (``--select``) are
  decoded, into typed structs holding just the fields condawheel uses.

So time is close to what msgspec needs to scan the bytes, memory is a few blocks plus
the selected records, and a record that is not selected is never looked at again.

Limits (finding the cost of hostile input before paying it): the decompressed document
may have at most :data:`MAX_REPODATA_BYTES` (a million-record channel has about
half a gigabyte), one record or top-level value at most :data:`MAX_VALUE_BYTES`, it may
list at most :data:`MAX_REPODATA_RECORDS` entries (each one kept costs memory, whatever
its size in bytes), and nesting deeper than the interpreter's recursion limit is
refused; each failure is one line that names the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

import msgspec

from condawheel.conda.condameta import RecordDependencies
from condawheel.conda.subdirs import is_subdir
from condawheel.errors import SourceError
from condawheel.io.collector import cyclic_gc_paused
from condawheel.io.compressed import size_text
from condawheel.io.jsondata import JSONProblem, parse_json
from condawheel.wheelhouse.artifacts import ARCHIVE_SUFFIXES, NameFilter, PackageName
from condawheel.wheelhouse.downloads import is_md5, is_sha256

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

__all__ = [
    "MAX_REPODATA_BYTES",
    "MAX_REPODATA_RECORDS",
    "MAX_VALUE_BYTES",
    "NOT_A_FILENAME",
    "V3_WHEEL",
    "RecordFields",
    "RecordProblem",
    "Repodata",
    "RepodataRecord",
    "check_filename",
    "parse_repodata",
    "read_repodata",
    "record_from_fields",
    "too_many_records",
]

MAX_REPODATA_BYTES: Final = 2 << 30
"""The most bytes a (decompressed) repodata document may have: about four times what a
channel of a million records (conda-forge's linux-64) needs."""
MAX_VALUE_BYTES: Final = 64 << 20
"""The most bytes one record, or one top-level value other than a map of records, may have."""
MAX_REPODATA_RECORDS: Final = 4_000_000
"""The most entries (records, and entries refused with a reason) one subdir's repodata may
list, in one document or in all of its shards together. Each is kept in memory, at about
a kilobyte, however few bytes its JSON has: four times a channel of a million records
(conda-forge's linux-64), and a few GiB of memory at most."""
_BLOCK: Final = 4 << 20
_ATTEMPTS_PER_CUT: Final = 64

V3_WHEEL: Final = (
    "a wheel listed under v3.whl (CEP 48): it is a wheel already, not converted or copied; "
    "install it from the index that publishes it"
)
NOT_A_FILENAME: Final = "not a conda package file name (<name>-<version>-<build>.conda|.tar.bz2)"

# CEP 26: <name>-<version>-<build>.<extension>, names [a-z0-9._-], versions
# [0-9a-z._+!], builds [a-zA-Z0-9_.+], at most 211 characters. Upper-case letters are
# let through in names and versions (old packages have them); what matters here is that
# no '/', '\', '%' or ':' can make a file name into a path or a URL of its own.
_FILENAME: Final = re.compile(
    r"(?P<name>[A-Za-z0-9_][A-Za-z0-9._-]*)-(?P<version>[A-Za-z0-9._+!]+)"
    r"-(?P<build>[A-Za-z0-9_.+]+)\.(?P<ext>conda|tar\.bz2)"
)
_MAX_FILENAME: Final = 211
_FLAG: Final = re.compile(r"[a-z0-9_]+(?::[a-z0-9_]+)?")

_WS: Final = re.compile(rb"[ \t\r\n]*")
_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
# A string, or a lone quote (a string the buffer cuts short), or a bracket.
_TOKEN: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|"|[\[\]{}]')
_SCALAR: Final = re.compile(rb"[^,}\]\s]*")
# The end of a record and the start of the next: '}', ',', a key that has the two dashes
# of "<name>-<version>-<build>" (no key of the top level, of v3, or of a record's own
# fields has them), ':', '{'.
_CUT: Final = re.compile(
    rb'\}[ \t\r\n]*,[ \t\r\n]*(?P<key>"[^"\\]*-[^"\\-]*-[^"\\-]*")[ \t\r\n]*:[ \t\r\n]*\{'
)
_TRAILING: Final = re.compile(r"trailing characters \(byte (\d+)\)")
_PACKAGE_KEYS: Final = {"packages": "", "packages.conda": ""}


class RepodataRecord(msgspec.Struct, frozen=True, gc=False):
    """One package entry of ``repodata.json`` (or of a CEP 16 shard).

    A struct, as :class:`~condawheel.wheelhouse.artifacts.Artifact` (one per record).
    """

    filename: str
    name: str
    version: str
    build: str
    subdir: str
    build_number: int | None = None
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    dependencies: RecordDependencies | None = None
    """Its ``depends`` / ``constrains``: patched repodata may differ from ``index.json``."""
    flags: tuple[str, ...] = ()
    """CEP 45 variant flags."""
    purls: tuple[str, ...] = ()
    """Package URLs of what the package is (``pkg:pypi/<name>`` for a PyPI project)."""
    revision: str | None = None
    """``v3`` for a record of the CEP 48 ``v3`` section, else None."""


@dataclass(frozen=True)
class RecordProblem:
    """An entry of the document that cannot be synced, and why."""

    filename: str
    reason: str
    status: Literal["failed", "skipped"] = "failed"
    location: str | None = None
    """Where it is, when that is not the file name in the subdir (a shard's URL)."""


@dataclass(frozen=True)
class Repodata:
    """What a repodata document (or shard) offers, as far as the filter wanted it."""

    base_url: str | None
    """``info.base_url`` (CEP 15), if set."""
    records: tuple[RepodataRecord, ...]
    problems: tuple[RecordProblem, ...]
    unread: tuple[str, ...] = ()
    """Package names whose records could not be read at all (a shard that failed)."""


class RecordFields(msgspec.Struct, forbid_unknown_fields=False, gc=False):
    """The fields of a record condawheel reads; the others are skipped unread."""

    name: str
    version: str
    build: str
    build_number: int | None = None
    subdir: str | None = None
    size: int | None = None
    depends: list[str] | None = None
    constrains: list[str] | None = None
    # CEP 44 names it extra-depends in index.json; CEP 48's v3 records extra_depends.
    extra_depends: dict[str, list[str]] | None = None
    extra_depends_dashed: dict[str, list[str]] | None = msgspec.field(
        default=None, name="extra-depends"
    )
    flags: list[str] | None = None
    purls: list[str] | None = None


class _JSONFields(RecordFields, forbid_unknown_fields=False, gc=False):
    """A ``repodata.json`` record: digests in hexadecimal."""

    sha256: str | None = None
    md5: str | None = None


_RAW_MAP: Final = msgspec.json.Decoder(dict[str, msgspec.Raw])
_FIELDS_MAP: Final = msgspec.json.Decoder(dict[str, _JSONFields])
_FIELDS: Final = msgspec.json.Decoder(_JSONFields)
RecordSink: TypeAlias = "Callable[[Repodata], None]"
"""Takes the records (and problems) of a block as the document is read."""
_BlockDecoder: TypeAlias = (
    "msgspec.json.Decoder[dict[str, _JSONFields]] | msgspec.json.Decoder[dict[str, msgspec.Raw]]"
)
_STRING_DECODER: Final = msgspec.json.Decoder(str)


def too_many_records(where: str, limit: int) -> SourceError:
    """Return the error of repodata at ``where`` that lists more than ``limit`` entries."""
    return SourceError(where, f"lists more than {limit:,} records, the limit for one subdir")


def check_filename(filename: str) -> PackageName | None:
    """Return the name, version and build of a conda file name CEP 26 allows, else None."""
    if len(filename) > _MAX_FILENAME:
        return None
    match = _FILENAME.fullmatch(filename)
    if match is None:
        return None
    return PackageName(*match.group("name", "version", "build"))


def _problem_of(error: msgspec.ValidationError) -> str:
    text = str(error)
    missing = re.match(r"Object missing required field `(\w+)`", text)
    if missing:
        return f"its repodata record lacks {missing[1]}"
    if text.startswith("Expected `object`") and " - at `$" not in text:
        return "its repodata record is not an object"
    field = re.search(r" - at `\$\.([\w-]+)", text)
    if field is not None and field[1] in {"depends", "constrains"}:
        return f"its repodata record's {field[1]!r} is not a list of strings"
    if field is not None:
        what = text.split(" - at", maxsplit=1)[0]
        return f"its repodata record's {field[1]!r} is not valid ({what})"
    return f"its repodata record is not valid ({text})"


def record_from_fields(
    filename: str,
    parsed: PackageName,
    fields: RecordFields,
    *,
    sha256: str | None,
    md5: str | None,
    subdir: str,
    revision: str | None = None,
) -> RepodataRecord | str:
    """Check decoded record fields against their file name; return the record or a reason.

    Run for every record of a whole channel's listing: the common case (all well) takes
    one comparison per check, and no list or generator is built for absent fields.
    """
    name, version, build = fields.name, fields.version, fields.build
    if name != parsed.name or version != parsed.version or build != parsed.build:
        missing = [key for key in ("name", "version", "build") if not getattr(fields, key)]
        if missing:
            return f"its repodata record lacks {', '.join(missing)}"
        return f"its repodata record is {name}-{version}-{build}, not what its file name says"
    if sha256 is not None and not is_sha256(sha256):
        return "its repodata record's sha256 is not 64 hexadecimal digits"
    if md5 is not None and not is_md5(md5):
        return "its repodata record's md5 is not 32 hexadecimal digits"
    record_subdir = fields.subdir
    if record_subdir is not None and record_subdir != subdir and not is_subdir(record_subdir):
        return f"its repodata record's subdir {record_subdir!r} is not a conda subdir (CEP 26)"
    dependencies = None
    extra_depends = fields.extra_depends or fields.extra_depends_dashed
    if fields.depends is not None or extra_depends:
        dependencies = RecordDependencies(
            "repodata",
            tuple(fields.depends or ()),
            tuple(fields.constrains or ()),
            tuple((group, tuple(specs)) for group, specs in sorted(extra_depends.items()))
            if extra_depends
            else (),
        )
    size = fields.size
    return RepodataRecord(
        filename,
        name,
        version,
        build,
        record_subdir or subdir,
        fields.build_number,
        sha256.lower() if sha256 else None,
        md5.lower() if md5 else None,
        size if size is not None and size >= 0 else None,
        dependencies,
        # CEP 45: flags are [a-z0-9_]+, with one ':' for key:value; others are noise.
        tuple(flag for flag in fields.flags if _FLAG.fullmatch(flag)) if fields.flags else (),
        tuple(fields.purls) if fields.purls else (),
        revision,
    )


class _Reader:
    """A window over a stream of bytes, consumed from the front (``pos``)."""

    def __init__(self, chunks: Iterator[bytes], where: str) -> None:
        self.chunks = chunks
        self.where = where
        self.buf = b""
        self.pos = 0
        self.offset = 0
        """The position of ``buf[0]`` in the whole document (for messages)."""
        self.eof = False

    def fill(self, ahead: int) -> bool:
        """Make ``ahead`` bytes available from ``pos`` (fewer at the end); True if any came."""
        if len(self.buf) - self.pos >= ahead or self.eof:
            return False
        parts = [self.buf[self.pos :]]
        self.offset += self.pos
        have = len(parts[0])
        while have < ahead:
            chunk = next(self.chunks, None)
            if chunk is None:
                self.eof = True
                break
            parts.append(chunk)
            have += len(chunk)
        self.buf = b"".join(parts)
        self.pos = 0
        return len(parts) > 1

    def invalid(self, why: str) -> SourceError:
        if self.eof and self.pos >= len(self.buf):
            why = "cut short"
        return SourceError(self.where, f"not valid JSON ({why} at byte {self.offset + self.pos})")

    def peek(self) -> int:
        """Skip whitespace; return the next byte (-1 at the end)."""
        while True:
            match = _WS.match(self.buf, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill(_BLOCK):
                return -1

    def expect(self, char: bytes) -> None:
        if self.peek() != char[0]:
            raise self.invalid(f"expected {char.decode()!r}")
        self.pos += 1

    def value_end(self) -> int:
        """Return where the JSON value at ``pos`` ends, reading as much as it needs."""
        self.peek()
        while True:
            end = self._scan()
            size = (len(self.buf) if end is None else end) - self.pos
            if size > MAX_VALUE_BYTES:
                raise SourceError(
                    self.where,
                    f"a value at byte {self.offset + self.pos} is larger than the limit of "
                    f"{size_text(MAX_VALUE_BYTES)}",
                )
            if end is not None:
                return end
            # Twice as much each time: a long value is scanned a bounded number of times.
            if not self.fill(2 * (len(self.buf) - self.pos) + _BLOCK):
                raise self.invalid("cut short")

    def _scan(self) -> int | None:
        """Return the end of the value at ``pos`` if the buffer holds all of it."""
        buf, start = self.buf, self.pos
        first = buf[start : start + 1]
        if first == b'"':
            match = _STRING.match(buf, start)
            return match.end() if match else None
        if first not in {b"{", b"["}:
            match = _SCALAR.match(buf, start)
            end = match.end() if match else start
            return end if end < len(buf) or self.eof else None
        depth = 0
        for token in _TOKEN.finditer(buf, start):
            text = token.group()
            if text == b'"':
                return None  # a string the buffer cuts short
            if text in {b"{", b"["}:
                depth += 1
            elif text in {b"}", b"]"}:
                depth -= 1
                if depth == 0:
                    return token.end()
        return None

    def string(self) -> str:
        """Read the JSON string at ``pos``."""
        if self.peek() != ord('"'):
            raise self.invalid("expected a string")
        end = self.value_end()
        try:
            text = _STRING_DECODER.decode(self.buf[self.pos : end])
        except msgspec.DecodeError as error:
            raise self.invalid(str(error)) from None
        self.pos = end
        return text


class _Parser:
    """The walk of one document; see the module docstring."""

    def __init__(
        self,
        chunks: Iterator[bytes],
        *,
        subdir: str,
        where: str,
        wanted: NameFilter | None,
        max_records: int,
        sink: RecordSink | None = None,
    ) -> None:
        self.reader = _Reader(chunks, where)
        self.sink = sink
        self.passed = 0
        """Entries handed to ``sink`` so far."""
        self.info_seen = False
        self.subdir = subdir
        self.where = where
        self.wanted = wanted
        self.max_records = max_records
        self.base_url: str | None = None
        self.records: dict[str, RepodataRecord] = {}
        self.problems: dict[str, RecordProblem] = {}
        self.in_v3: set[int] = set()
        """``hash(filename)`` of every file the ``v3`` section listed so far: a v1 record
        of one of them that comes later is not read (CEP 48: the v3 record stands)."""

    def parse(self) -> Repodata:
        reader = self.reader
        if reader.peek() != ord("{"):
            raise SourceError(self.where, "repodata must be a JSON object")
        reader.pos += 1
        if reader.peek() == ord("}"):
            reader.pos += 1
        else:
            self._members(top=True)
        if reader.peek() != -1:
            raise reader.invalid("trailing data")
        if self.sink is not None:
            self._flush(self.sink)
        return Repodata(self.base_url, tuple(self.records.values()), tuple(self.problems.values()))

    def _members(self, *, top: bool) -> None:
        """Read the members of the top-level object (or of ``v3``) after its ``{``."""
        reader = self.reader
        while True:
            key = reader.string()
            reader.expect(b":")
            is_object = reader.peek() == ord("{")
            if top and key in _PACKAGE_KEYS:
                if not is_object:
                    raise SourceError(
                        self.where, f"{key!r} must be an object of file name -> record"
                    )
                reader.pos += 1
                self._records(extension=None, revision=None)
            elif top and key == "v3" and is_object:
                reader.pos += 1
                if reader.peek() == ord("}"):
                    reader.pos += 1
                else:
                    self._members(top=False)
            elif not top and is_object:
                reader.pos += 1
                self._records(extension=key, revision="v3")
            else:
                end = reader.value_end()
                if top and key == "info":
                    self._info(reader.buf[reader.pos : end])
                    self.info_seen = True
                reader.pos = end
            char = reader.peek()
            reader.pos += 1
            if char == ord("}"):
                return
            if char != ord(","):
                reader.pos -= 1
                raise reader.invalid("expected ',' or '}'")

    def _info(self, data: bytes) -> None:
        try:
            info = parse_json(data)
        except JSONProblem as error:
            raise SourceError(self.where, f"its info is {error}") from None
        base_url = info.get("base_url") if isinstance(info, dict) else None
        self.base_url = base_url if isinstance(base_url, str) and base_url else None

    def _records(self, *, extension: str | None, revision: str | None) -> None:
        """Read a map of records after its ``{`` (``extension``: v3's, keys are stems)."""
        reader = self.reader
        if reader.peek() == ord("}"):
            reader.pos += 1
            return
        while True:
            reader.fill(_BLOCK)
            cut = self._cut()
            if cut is not None:
                piece = b"{" + reader.buf[reader.pos : cut.start() + 1] + b"}"
                entries, ended = self._decode_block(piece, typed=extension != "whl")
                if entries is not None:
                    self._take(entries, extension, revision)
                    reader.pos = reader.pos + ended - 1 if ended else cut.start("key")
                    if ended:
                        return
                    continue
                # Not a cut between records after all (or broken JSON): exactly, then.
                if self._one_by_one(until=cut.start() + 1, extension=extension, revision=revision):
                    return
                continue
            if self._one_by_one(until=None, extension=extension, revision=revision):
                return

    def _cut(self) -> re.Match[bytes] | None:
        """Return the last place in the buffer that looks like the end of a record."""
        reader = self.reader
        buf, low = reader.buf, reader.pos
        high = len(buf)
        for _ in range(_ATTEMPTS_PER_CUT):
            brace = buf.rfind(b"}", low, high)
            if brace < 0:
                return None
            match = _CUT.match(buf, brace)
            if match is not None:
                return match
            high = brace
        return None

    def _decode_block(
        self, piece: bytes, *, typed: bool
    ) -> tuple[Mapping[str, msgspec.Raw | _JSONFields] | None, int]:
        """Decode a block of records; ``(entries, k)``: the map ended at byte ``k``.

        Without a name filter every record is wanted: the whole block is decoded into
        structs at once (one call for thousands of records), unless one of them has the
        wrong shape; then, or with a filter, into raw records decoded one by one.
        """
        decoders: tuple[_BlockDecoder, ...] = (
            (_FIELDS_MAP, _RAW_MAP) if typed and self.wanted is None else (_RAW_MAP,)
        )
        for decoder in decoders:
            try:
                return decoder.decode(piece), 0
            except RecursionError:
                continue  # one by one: the deep record is its own problem
            except msgspec.ValidationError:
                continue
            except msgspec.DecodeError as error:
                trailing = _TRAILING.search(str(error))
                if trailing is None:
                    return None, 0
            # The map closed inside the block: what precedes is a whole map.
            ended = int(trailing[1])
            try:
                return decoder.decode(piece[:ended]), ended
            except (msgspec.DecodeError, RecursionError):
                continue
        return None, 0

    def _one_by_one(
        self, *, until: int | None, extension: str | None, revision: str | None
    ) -> bool:
        """Read records exactly up to ``until`` (or one at least); True if the map ended."""
        reader = self.reader
        while True:
            key = reader.string()
            reader.expect(b":")
            end = reader.value_end()
            value = reader.buf[reader.pos : end]
            reader.pos = end
            self._take({key: value}, extension, revision)
            char = reader.peek()
            reader.pos += 1
            if char == ord("}"):
                return True
            if char != ord(","):
                reader.pos -= 1
                raise reader.invalid("expected ',' or '}'")
            if until is None or reader.pos >= until:
                return False

    def _take(
        self,
        entries: Mapping[str, msgspec.Raw | bytes | _JSONFields],
        extension: str | None,
        revision: str | None,
    ) -> None:
        if extension == "whl":
            for stem, raw in entries.items():
                self._wheel(stem, raw)
        elif extension is None or extension in {kind for _, kind in ARCHIVE_SUFFIXES}:
            # (Else an artifact format condawheel does not know, CEP 48: nothing kept.)
            wanted = self.wanted
            keys: Iterable[str] = entries if wanted is None else wanted.keys(entries)
            in_v3 = self.in_v3
            if revision is not None:
                in_v3.update(hash(f"{key}.{extension}") for key in keys)
            elif in_v3:
                keys = [key for key in keys if hash(key) not in in_v3]
            for key in keys:
                filename = key if extension is None else f"{key}.{extension}"
                parsed = check_filename(filename)
                if parsed is None:
                    if wanted is None:
                        self.problems[filename] = RecordProblem(filename, NOT_A_FILENAME)
                    continue
                if wanted is not None and not wanted(parsed.name):
                    continue  # its file name's dashes said otherwise
                self._record(filename, parsed, entries[key], revision)
        # Checked once a block (a few MiB) is taken: what is kept stays near the limit.
        if self.passed + len(self.records) + len(self.problems) > self.max_records:
            raise too_many_records(self.where, self.max_records)
        # Records are passed on once ``info`` is known: its base_url places their files.
        if self.sink is not None and self.info_seen:
            self._flush(self.sink)

    def _flush(self, sink: RecordSink) -> None:
        if self.records or self.problems:
            self.passed += len(self.records) + len(self.problems)
            sink(
                Repodata(self.base_url, tuple(self.records.values()), tuple(self.problems.values()))
            )
            self.records.clear()
            self.problems.clear()

    def _record(
        self,
        filename: str,
        parsed: PackageName,
        raw: msgspec.Raw | bytes | _JSONFields,
        revision: str | None,
    ) -> None:
        try:
            fields = raw if isinstance(raw, _JSONFields) else _FIELDS.decode(raw)
        except msgspec.ValidationError as error:
            self._problem(filename, _problem_of(error), revision)
            return
        except RecursionError:
            self._problem(filename, "its record is nested too deeply", revision)
            return
        except msgspec.DecodeError as error:  # a guard: the block decoded
            raise SourceError(self.where, f"not valid JSON ({error})") from None
        record = record_from_fields(
            filename,
            parsed,
            fields,
            sha256=fields.sha256,
            md5=fields.md5,
            subdir=self.subdir,
            revision=revision,
        )
        if isinstance(record, str):
            self._problem(filename, record, revision)
            return
        # A v1 record of a file that v3 listed is not read (``in_v3``): this one stands.
        self.records[filename] = record
        self.problems.pop(filename, None)

    def _problem(self, filename: str, reason: str, revision: str | None) -> None:
        """Note a record that cannot be synced; a v3 one stands for its file (CEP 48)."""
        self.problems[filename] = RecordProblem(filename, reason)
        if revision is not None:
            self.records.pop(filename, None)

    def _wheel(self, stem: str, raw: msgspec.Raw | bytes | _JSONFields) -> None:
        """Note a wheel of ``v3.whl`` the filter wants: skipped (see :data:`V3_WHEEL`)."""
        try:
            fields = raw if isinstance(raw, _JSONFields) else _FIELDS.decode(raw)
        except (msgspec.DecodeError, RecursionError):
            return
        if self.wanted is None or self.wanted(fields.name):
            filename = f"{stem}.whl"
            self.problems[filename] = RecordProblem(filename, V3_WHEEL, "skipped")


def read_repodata(
    chunks: Iterable[bytes],
    *,
    subdir: str,
    where: str,
    wanted: NameFilter | None = None,
    max_records: int = MAX_REPODATA_RECORDS,
    sink: RecordSink | None = None,
) -> Repodata:
    """Read a repodata document from its (decompressed) bytes, as they come.

    :param subdir: the subdir the document was found in (records without one get it).
    :param where: the document's location, for messages.
    :param wanted: which package names to read (lower case); None: all. Records of
        other names are neither decoded nor reported, whatever is wrong with them.
    :param max_records: the most entries (records and problems) it may keep (or pass on).
    :param sink: where the records and problems go, a block (a few MiB of JSON) at a
        time, as they are read, once ``info`` was read (a document whose ``info`` comes
        after its records is passed on whole at its end); the result then holds none. So
        a whole channel is listed in bounded memory. A file that both the ``v3`` section
        and ``packages`` / ``packages.conda`` list is passed on with its v3 record: once
        when ``v3`` comes first (the later v1 record is not read), else as a second
        record (``revision="v3"``) after its v1 record was passed on; the consumer lets
        it replace the first (CEP 48: the v3 record stands).
    :raises SourceError: if the document is not repodata at all (not JSON, not an
        object, ``packages`` not an object, nested too deeply, larger than the limits).
    """
    iterator = iter(chunks)
    parser = _Parser(
        iterator, subdir=subdir, where=where, wanted=wanted, max_records=max_records, sink=sink
    )
    try:
        with cyclic_gc_paused():
            return parser.parse()
    except RecursionError:
        raise SourceError(where, "not valid JSON (nested too deeply)") from None
    except UnicodeDecodeError:
        raise SourceError(where, "not valid JSON (not UTF-8)") from None


def parse_repodata(
    data: bytes, *, subdir: str, where: str, wanted: NameFilter | None = None
) -> Repodata:
    """Read a whole repodata document held in memory (see :func:`read_repodata`)."""
    return read_repodata([data], subdir=subdir, where=where, wanted=wanted)
