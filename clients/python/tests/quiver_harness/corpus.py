"""The shared end-to-end query corpus, ``testdata/e2e/queries.sql``.

A block starts with a line ``-- name: <identifier>``; an optional line
``-- ordered`` right after it says the rows must come back in exactly that
order. The statement is everything up to the next ``-- name:`` line, with
surrounding blank lines and one trailing ``;`` removed. Text before the first
block is a header and is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .tools import repo_root

_NAME = re.compile(r"^--\s*name:\s*(\S+)\s*$")
_ORDERED = re.compile(r"^--\s*ordered\s*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class CorpusQuery:
    """CorpusQuery is one named statement of the corpus."""

    name: str
    sql: str
    ordered: bool
    line: int


def parse_corpus(text: str, source: str = "<corpus>") -> list[CorpusQuery]:
    """Parse corpus text; raise ValueError on a malformed or duplicate block."""
    queries: list[CorpusQuery] = []
    current: tuple[str, int] | None = None
    ordered = False
    body: list[str] = []
    expect_ordered = False

    def flush() -> None:
        if current is None:
            return
        name, line = current
        sql = "\n".join(body).strip()
        if sql.endswith(";"):
            sql = sql[:-1].rstrip()
        if not sql:
            raise ValueError(f"{source}:{line}: query {name!r} has no statement")
        queries.append(CorpusQuery(name, sql, ordered, line))

    for number, raw in enumerate(text.splitlines(), start=1):
        match = _NAME.match(raw.strip())
        if match:
            flush()
            name = match.group(1)
            if not _IDENTIFIER.match(name):
                raise ValueError(f"{source}:{number}: query name {name!r} is not an identifier")
            current, ordered, body, expect_ordered = (name, number), False, [], True
            continue
        if expect_ordered and _ORDERED.match(raw.strip()):
            ordered, expect_ordered = True, False
            continue
        expect_ordered = False
        if current is not None:
            body.append(raw)
    flush()

    seen: set[str] = set()
    for q in queries:
        if q.name in seen:
            raise ValueError(f"{source}:{q.line}: duplicate query name {q.name!r}")
        seen.add(q.name)
    return queries


def corpus_path() -> Path:
    """The path of the shared corpus file."""
    return repo_root() / "testdata" / "e2e" / "queries.sql"


def load_corpus(path: Path | None = None) -> list[CorpusQuery]:
    """Read and parse the corpus file."""
    path = path or corpus_path()
    return parse_corpus(path.read_text(encoding="utf-8"), str(path))
