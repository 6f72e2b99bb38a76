"""ReadPrompts: JSONL, Parquet or Hugging Face rows -> validated prompts with their recorded candidates.

Bad rows become dead letters with a reason code (see `prefmill.transforms.parse`); duplicate ids keep the
first occurrence in input order (file, then line) and dead-letter the rest.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, Literal, NamedTuple, Optional

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from pydantic import BaseModel, ConfigDict, Field, field_validator

from prefmill.schemas import InputError
from prefmill.schemas.records import Domain
from prefmill.transforms.base import DEAD_LETTERS, Reject, Stage, apply_stage
from prefmill.transforms.parse import DUPLICATE_ID, FieldMap, Layout, RowError, field_map_for, parse_row

InputFormat = Literal["auto", "jsonl", "parquet", "hf"]
_JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz")


class InputConfig(BaseModel):
    """Where prompts come from and how their fields are laid out."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="file, glob or directory (JSONL/Parquet), or a Hugging Face dataset name or local dataset folder")
    format: InputFormat = Field("auto", description="auto picks by extension; hf uses datasets.load_dataset")
    layout: Layout = Field("native", description="preset field mapping: native | question_answer | prompt_completions | messages")
    fields: dict[str, Optional[str]] = Field(default_factory=dict, description="overrides of the layout's field mapping")
    default_domain: Domain = Field("chat", description="domain of rows that do not name one")
    candidate_model: str = Field("recorded", description="model name for recorded responses that do not name one")
    max_row_bytes: int = Field(1_000_000, gt=0, description="rows larger than this are dead-lettered (row_too_large)")
    hf_split: str = Field("train", description="split to read with format hf")
    hf_config: Optional[str] = Field(None, description="dataset configuration name with format hf")

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, Optional[str]]) -> dict[str, Optional[str]]:
        unknown = sorted(set(value) - set(FieldMap.model_fields))
        if unknown:
            raise ValueError(f"unknown field name(s) {unknown}; known: {sorted(FieldMap.model_fields)}")
        return value

    def field_map(self) -> FieldMap:
        return field_map_for(self.layout, self.fields)

    def resolved_format(self) -> str:
        if self.format != "auto":
            return self.format
        lower = self.path.lower()
        if lower.endswith(_JSONL_SUFFIXES):
            return "jsonl"
        if lower.endswith(".parquet"):
            return "parquet"
        if os.path.isdir(self.path) and any(n.endswith(".parquet") for n in os.listdir(self.path)):
            return "parquet"
        return "hf"


class RawRow(NamedTuple):
    source: str
    index: int
    raw: Any  # bytes (JSONL line) or dict (Parquet / HF row)


def _match(pattern: str) -> list[str]:
    if os.path.isdir(pattern):
        pattern = os.path.join(pattern, "*.parquet")
    found = [m.path for r in FileSystems.match([pattern]) for m in r.metadata_list]
    if not found:
        raise InputError(f"input.path matches no file: {pattern}")
    return sorted(found)


class _ReadJsonl(beam.DoFn):
    def process(self, path: str) -> Iterator[RawRow]:
        with FileSystems.open(path) as handle:
            for index, line in enumerate(handle):
                line = line.rstrip(b"\r\n")
                if line.strip():  # blank lines separate nothing and carry no row
                    yield RawRow(path, index, line)


class _ReadParquet(beam.DoFn):
    def process(self, path: str) -> Iterator[RawRow]:
        import pyarrow.parquet as pq

        with FileSystems.open(path) as handle:
            index = 0
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=2048):
                for row in batch.to_pylist():
                    yield RawRow(path, index, row)
                    index += 1


class _ReadHF(beam.DoFn):
    def __init__(self, split: str, config_name: Optional[str]) -> None:
        self.split = split
        self.config_name = config_name

    def process(self, path: str) -> Iterator[RawRow]:
        import datasets

        dataset = datasets.load_dataset(path, self.config_name, split=self.split)
        for index, row in enumerate(dataset):
            yield RawRow(f"{path}[{self.split}]", index, row)


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
            parsed = parse_row(
                row.raw,
                self.fields,
                default_domain=self.config.default_domain,
                default_model=self.config.candidate_model,
                max_row_bytes=self.config.max_row_bytes,
            )
        except RowError as err:
            yield Reject(err.reason, error=str(err), record_id=err.record_id or self.record_id(row), payload=row.raw)
            return
        yield parsed.prompt.id, ((row.source, row.index), parsed)


class DropDuplicateIds(Stage):
    """Keep the first row of each prompt id in input order; the others are dead letters.

    Counts rows, not groups: in = rows with this id, out = 1, dead = the duplicates.
    """

    name = "dedupe"

    def process(self, element):
        prompt_id, rows = element
        rows = sorted(rows, key=lambda item: item[0])
        (first_pos, first), duplicates = rows[0], rows[1:]
        self.counter("in").inc(len(rows))
        self.counter("out").inc()
        self.counter("emitted").inc()
        yield first
        for (source, index), parsed in duplicates:
            self.counter("dead").inc()
            self.counter("dead_letters").inc()
            self.counter(f"dead_{DUPLICATE_ID}").inc()
            reject = Reject(
                DUPLICATE_ID,
                error=f"id {prompt_id!r} first seen at {first_pos[0]}:{first_pos[1] + 1}, again at {source}:{index + 1}",
                record_id=prompt_id,
                payload=parsed,
            )
            yield beam.pvalue.TaggedOutput(DEAD_LETTERS, self.dead_letter(reject, parsed))


class ReadPrompts(beam.PTransform):
    """Input rows -> PromptCandidates (main) and DeadLetter records (`dead_letters`)."""

    def __init__(self, config: InputConfig, run_id: str = "") -> None:
        super().__init__()
        self.config = config
        self.run_id = run_id

    def expand(self, pbegin):
        fmt = self.config.resolved_format()
        if fmt == "hf":
            paths = pbegin | "InputSpec" >> beam.Create([self.config.path])
            raw = paths | "ReadHF" >> beam.ParDo(_ReadHF(self.config.hf_split, self.config.hf_config))
        else:
            paths = (
                pbegin
                | "InputSpec" >> beam.Create([self.config.path])
                | "MatchFiles" >> beam.FlatMap(_match)
                | "SpreadFiles" >> beam.Reshuffle()
            )
            reader = _ReadJsonl() if fmt == "jsonl" else _ReadParquet()
            raw = paths | "ReadFiles" >> beam.ParDo(reader)
        keyed, parse_dead = apply_stage(raw, "ParseRows", ParseRows(self.config, self.run_id))
        unique, dup_dead = apply_stage(
            keyed | "GroupById" >> beam.GroupByKey(), "DropDuplicateIds", DropDuplicateIds(self.run_id)
        )
        dead = (parse_dead, dup_dead) | "ReadDeadLetters" >> beam.Flatten()
        return {"main": unique, "dead_letters": dead}
