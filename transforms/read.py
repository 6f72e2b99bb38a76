"""ReadPrompts: JSONL, Parquet or Hugging Face rows -> validated prompts with their recorded candidates.

Bad rows become dead letters with a reason code (see `prefmill.transforms.parse`); duplicate ids keep the
first occurrence in input order (file, then line) and dead-letter the rest.

Everything streams. Files are split into ranges read in parallel (`prefmill.transforms.ranges`). Finding
duplicates needs a global view, but grouping whole records by id would hold the whole input in the
runner's memory at once, so it is done in two passes over the input: the first parses every row and keeps
only (id, position), combined per id into (count, first position); the ids seen more than once (usually
none) reach the second pass as a small side input, and the second pass streams the parsed records on
without ever grouping them. Reading twice costs one extra parse per row; memory stays flat.
"""

from __future__ import annotations

import os
from typing import Iterator, Literal, Optional, Union

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from pydantic import BaseModel, ConfigDict, Field, model_validator

from prefmill.schemas import InputError
from prefmill.schemas.records import IncomingSource
from prefmill.transforms.base import DEAD_LETTERS, MAIN, Reject, Stage, apply_stage
from prefmill.transforms.parse import DUPLICATE_ID, FieldMap, Layout, RowError, field_map_for, parse_row
from prefmill.transforms.preference_in import (
    GROUPED_LAYOUTS, PREFERENCE_LAYOUTS, PreferenceFields, PreferenceLayout, merge_responses, parse_preference_row,
    preference_fields_for,
)
from prefmill.transforms.verify.registry import KnownDomain
from prefmill.transforms.ranges import (
    DEFAULT_SPLIT_BYTES, FileRange, RawRow, plan_jsonl, plan_parquet, read_jsonl, read_parquet,
)

InputFormat = Literal["auto", "jsonl", "parquet", "hf"]
_JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz")


class InputConfig(BaseModel):
    """Where prompts come from and how their fields are laid out."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="file, glob or directory (JSONL/Parquet), or a Hugging Face dataset name or local dataset folder")
    format: InputFormat = Field("auto", description="auto picks by extension; hf uses datasets.load_dataset")
    layout: Union[Layout, PreferenceLayout] = Field(
        "native", description="preset field mapping: native | question_answer | prompt_completions | messages | "
                              "ifeval, or preference data: trl | ultrafeedback | helpsteer2_preference | multipref")
    fields: dict[str, Optional[str]] = Field(default_factory=dict, description="overrides of the layout's field mapping")
    label_source: Optional[IncomingSource] = Field(
        None, description="preference layouts: who gave the data's labels, human | ai | unknown (default: trl "
                          "unknown, ultrafeedback ai, helpsteer2_preference human)")
    default_domain: KnownDomain = Field("chat", description="domain of rows that do not name one")
    candidate_model: str = Field("recorded", description="model name for recorded responses that do not name one")
    max_row_bytes: int = Field(1_000_000, gt=0, description="rows larger than this are dead-lettered (row_too_large)")
    dead_letter_payload_bytes: int = Field(
        65_536, ge=256, description="a dead-lettered row keeps at most this prefix, with its size and sha256")
    hf_split: str = Field("train", description="split to read with format hf")
    hf_config: Optional[str] = Field(None, description="dataset configuration name with format hf")
    split_bytes: int = Field(DEFAULT_SPLIT_BYTES, gt=0,
                             description="JSONL files are read in ranges of about this many bytes, in parallel")

    @model_validator(mode="after")
    def _known_fields(self) -> "InputConfig":
        known = PreferenceFields.model_fields if self.is_preference() else FieldMap.model_fields
        unknown = sorted(set(self.fields) - set(known))
        if unknown:
            raise ValueError(f"input.fields: unknown field name(s) {unknown} for layout {self.layout}; known: "
                             f"{sorted(known)}")
        return self

    def is_preference(self) -> bool:
        return self.layout in PREFERENCE_LAYOUTS

    def field_map(self) -> Union[FieldMap, PreferenceFields]:
        if self.is_preference():
            return preference_fields_for(self.layout, self.fields)
        return field_map_for(self.layout, self.fields)

    def incoming_source(self) -> str:
        default = {"ultrafeedback": "ai", "helpsteer2_preference": "human", "helpsteer2": "human"}.get(
            self.layout, "unknown")
        return self.label_source or default

    def resolved_format(self) -> str:
        if self.format != "auto":
            return self.format
        lower = self.path.lower()
        if lower.endswith(_JSONL_SUFFIXES):
            return "jsonl"
        if lower.endswith(".parquet"):
            return "parquet"
        if os.path.isdir(self.path):
            names = os.listdir(self.path)
            if any(n.endswith(".parquet") for n in names):
                return "parquet"
            if any(n.lower().endswith(_JSONL_SUFFIXES) for n in names) and not _is_hf_folder(names):
                return "jsonl"  # a folder of JSONL files; other files in it (notes, scripts) are not read
        return "hf"


def _is_hf_folder(names: list[str]) -> bool:
    """A folder `datasets.save_to_disk` wrote (its JSON files are metadata, not rows)."""
    return "dataset_info.json" in names or "dataset_dict.json" in names or "state.json" in names


def match_input(pattern: str) -> list[str]:
    """The files `input.path` names (a file, a glob or a folder), sorted."""
    if os.path.isdir(pattern):
        names = os.listdir(pattern)
        if any(n.endswith(".parquet") for n in names):
            found = sorted(os.path.join(pattern, n) for n in names if n.endswith(".parquet"))
        else:
            found = sorted(os.path.join(pattern, n) for n in names if n.lower().endswith(_JSONL_SUFFIXES))
        if not found:
            raise InputError(f"input.path {pattern} holds no .jsonl, .json, .ndjson or .parquet file")
        return found
    found = [m.path for r in FileSystems.match([pattern]) for m in r.metadata_list]
    if not found:
        raise InputError(f"input.path matches no file: {pattern}")
    return sorted(found)


class _ReadHF(beam.DoFn):
    def __init__(self, split: str, config_name: Optional[str]) -> None:
        self.split = split
        self.config_name = config_name

    def process(self, path: str) -> Iterator[RawRow]:
        import datasets

        dataset = datasets.load_dataset(path, self.config_name, split=self.split)
        for index, row in enumerate(dataset):
            yield RawRow(f"{path}[{self.split}]", 0, index, row)


def _parse(row: RawRow, config: InputConfig, fields):
    if config.is_preference():
        return parse_preference_row(row.raw, config.layout, fields, label_source=config.incoming_source(),
                                    default_domain=config.default_domain, default_model=config.candidate_model,
                                    max_row_bytes=config.max_row_bytes)
    return parse_row(row.raw, fields, default_domain=config.default_domain, default_model=config.candidate_model,
                     max_row_bytes=config.max_row_bytes)


class _IdPositions(beam.DoFn):
    """First pass: (prompt id, (count 1, position)) of every row that parses; rows that do not are the
    second pass's dead letters, so they are not counted here."""

    def __init__(self, config: InputConfig) -> None:
        self.config = config
        self.fields = config.field_map()

    def process(self, row: RawRow):
        try:
            parsed = _parse(row, self.config, self.fields)
        except RowError:
            return
        yield parsed.prompt.id, (1, row.position, row.source)


def _first_and_count(values) -> tuple:
    """Combine (count, position, source) of one id: the total count and the earliest position.

    >>> _first_and_count([(1, (0, 9), "a"), (2, (0, 3), "a"), (1, (1, 0), "b")])
    (4, (0, 3), 'a')
    """
    count, first, source = 0, None, ""
    for n, position, where in values:
        count += n
        if first is None or position < first:
            first, source = position, where
    return count, first, source


def payload_prefix(raw, limit: int):
    """The row as kept in its dead letter: whole when small, else a prefix, its size and its sha256 (a 10 MB
    row must not become a 10 MB dead letter in every later version of the table).

    >>> payload_prefix(b"x" * 300, 256).endswith("[row of 300 bytes, sha256 0d4e2ca9e9cb...; first 256 bytes kept]")
    True
    """
    data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "backslashreplace")
    if len(data) <= limit:
        return raw
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    head = data[:limit].decode("utf-8", "backslashreplace")
    return f"{head} [row of {len(data)} bytes, sha256 {digest[:12]}...; first {limit} bytes kept]"


class ParseRows(Stage):
    name = "read"

    def __init__(self, config: InputConfig, run_id: str = "") -> None:
        super().__init__(run_id)
        self.config = config
        self.fields: FieldMap = config.field_map()


    def record_id(self, element: RawRow) -> str:
        return f"{element.source}:{element.index + 1}"

    def handle(self, row: RawRow):
        try:
            parsed = _parse(row, self.config, self.fields)
        except RowError as err:
            yield Reject(err.reason, error=str(err), record_id=err.record_id or self.record_id(row),
                         payload=payload_prefix(row.raw, self.config.dead_letter_payload_bytes))
            return
        yield row, parsed


class DropDuplicateIds(Stage):
    """Keep the first row of each prompt id in input order; the others are dead letters. The side input
    holds only the ids seen more than once, with where each was first seen."""

    name = "dedupe"

    def __init__(self, run_id: str = "") -> None:
        super().__init__(run_id)
        self._repeated: dict = {}

    def record_id(self, element) -> str:
        return element[1].prompt.id

    def process(self, element, repeated):
        self._repeated = repeated
        yield from super().process(element)

    def handle(self, element):
        row, parsed = element
        first = self._repeated.get(parsed.prompt.id)
        if first is None or first[1] == row.position:
            yield parsed
            return
        _, (_, line), source = first
        yield Reject(DUPLICATE_ID, record_id=parsed.prompt.id, payload=parsed,
                     error=f"id {parsed.prompt.id!r} first seen at {source}:{line + 1}, again at "
                           f"{row.source}:{row.index + 1}")


class _PlanRanges(beam.DoFn):
    def __init__(self, fmt: str, split_bytes: int) -> None:
        self.fmt = fmt
        self.split_bytes = split_bytes

    def process(self, numbered: tuple[int, str]) -> Iterator[FileRange]:
        ordinal, path = numbered
        if self.fmt == "jsonl":
            yield from plan_jsonl(ordinal, path, self.split_bytes)
        else:
            yield from plan_parquet(ordinal, path)


class GroupResponses(Stage):
    """Layouts with one response per row (helpsteer2): a prompt's rows -> one prompt with all its responses.
    Counted in rows: `in` every row, `out` one per prompt, `merged` the rows folded into another row's
    prompt, and a row whose response repeats one already there is a dead letter (`duplicate_id`)."""

    name = "dedupe"

    def process(self, element):
        prompt_id, rows = element
        parts = [parsed for _, parsed in rows]
        self.counter("in").inc(len(parts))
        merged, repeated = merge_responses(parts)
        for part in repeated:
            self.counter("dead_letters").inc()
            self.counter(f"dead_{DUPLICATE_ID}").inc()
            self.counter("dead").inc()
            yield beam.pvalue.TaggedOutput(DEAD_LETTERS, self.dead_letter(Reject(
                DUPLICATE_ID, record_id=prompt_id, payload=part,
                error=f"prompt {prompt_id!r} has this response twice"), part))
        self.counter("merged").inc(len(parts) - len(repeated) - 1)
        self.counter("out").inc()
        self.counter("emitted").inc()
        yield merged


PARSE_DEAD, DEDUPE_DEAD = "parse_dead_letters", "dedupe_dead_letters"


class ReadPrompts(beam.PTransform):
    """Input rows -> PromptCandidates (`main`) and DeadLetter records (`parse_dead_letters` for rows that
    do not parse, `dedupe_dead_letters` for repeated ids)."""

    def __init__(self, config: InputConfig, run_id: str = "") -> None:
        super().__init__()
        self.config = config
        self.run_id = run_id

    def _rows(self, source, label: str):
        """One full read of the input (it is read twice, see the module docstring)."""
        fmt = self.config.resolved_format()
        if fmt == "hf":
            return source | f"ReadHF{label}" >> beam.ParDo(_ReadHF(self.config.hf_split, self.config.hf_config))
        reader = read_jsonl if fmt == "jsonl" else read_parquet
        return source | f"Read{label}" >> beam.FlatMap(reader)

    def expand(self, pbegin):
        fmt = self.config.resolved_format()
        spec = pbegin | "InputSpec" >> beam.Create([self.config.path])
        if fmt == "hf":
            source = spec
        else:
            source = (
                spec
                | "MatchFiles" >> beam.FlatMap(lambda path: enumerate(match_input(path)))
                | "SpreadFiles" >> beam.Reshuffle()
                | "PlanRanges" >> beam.ParDo(_PlanRanges(fmt, self.config.split_bytes))
                | "SpreadRanges" >> beam.Reshuffle()
            )
        if self.config.layout in GROUPED_LAYOUTS:
            rows = self._rows(source, "Rows")
            parsed, parse_dead = apply_stage(rows, "ParseRows", ParseRows(self.config, self.run_id))
            grouped = (parsed | "ByPrompt" >> beam.Map(lambda item: (item[1].prompt.id, item))
                       | "GroupByPrompt" >> beam.GroupByKey()
                       | "GroupResponses" >> beam.ParDo(GroupResponses(self.run_id)).with_outputs(
                           DEAD_LETTERS, main=MAIN))
            return {MAIN: grouped[MAIN], PARSE_DEAD: parse_dead, DEDUPE_DEAD: grouped[DEAD_LETTERS]}
        repeated = (
            self._rows(source, "Ids")
            | "IdPositions" >> beam.ParDo(_IdPositions(self.config))
            | "CountIds" >> beam.CombinePerKey(_first_and_count)
            | "Repeated" >> beam.Filter(lambda id_first: id_first[1][0] > 1)
        )
        # A fusion break: without it the runner fuses both passes (they read the same ranges) and must then
        # hold every parsed record until the first pass's side input is done; that is the whole input.
        rows = self._rows(source | "RangesForRows" >> beam.Reshuffle(), "Rows")
        parsed, parse_dead = apply_stage(rows, "ParseRows", ParseRows(self.config, self.run_id))
        deduped = parsed | "DropDuplicateIds" >> beam.ParDo(
            DropDuplicateIds(self.run_id), repeated=beam.pvalue.AsDict(repeated)).with_outputs(DEAD_LETTERS, main=MAIN)
        # two dead-letter outputs, not one Flatten of them: a local runner may hold a flattened PCollection
        # in memory between stages (see pipelines/build.py)
        return {MAIN: deduped[MAIN], PARSE_DEAD: parse_dead, DEDUPE_DEAD: deduped[DEAD_LETTERS]}
