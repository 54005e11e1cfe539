"""HTML for notebooks: a result's summary, schema and first rows.

Rendered without pandas so every result can display itself; values are
escaped, long cells cut, NULLs shown as such.
"""

from __future__ import annotations

from html import escape

import pyarrow as pa

_CELL_LIMIT = 200

_STYLE = (
    "<style>"
    ".quiver-result table{border-collapse:collapse;font-size:12px}"
    ".quiver-result th,.quiver-result td{padding:2px 8px;text-align:left;border-bottom:1px solid #ddd}"
    ".quiver-result .q-type{color:#888;font-weight:normal;font-size:11px}"
    ".quiver-result .q-null{color:#aaa;font-style:italic}"
    ".quiver-result .q-summary{color:#555;margin:4px 0}"
    "</style>"
)


def _cell(value: object) -> str:
    if value is None:
        return '<span class="q-null">NULL</span>'
    text = str(value)
    if len(text) > _CELL_LIMIT:
        text = text[:_CELL_LIMIT] + "…"
    return escape(text)


def table_html(table: pa.Table, *, max_rows: int, summary: str, more_unknown: bool = False) -> str:
    """An HTML block: a summary line, a header with names and types, the first rows.

    ``more_unknown`` says ``table`` is only the first rows of a result that
    was not fetched to the end: the last line then says more may follow
    instead of counting them.
    """
    head = table.slice(0, max_rows).to_pylist()
    parts = [_STYLE, '<div class="quiver-result">', f'<div class="q-summary">{escape(summary)}</div>', "<table>"]
    parts.append("<thead><tr>")
    for field in table.schema:
        parts.append(f'<th>{escape(field.name)}<br><span class="q-type">{escape(str(field.type))}</span></th>')
    parts.append("</tr></thead><tbody>")
    for row in head:
        parts.append("<tr>" + "".join(f"<td>{_cell(row[name])}</td>" for name in table.schema.names) + "</tr>")
    if more_unknown:
        parts.append(f'<tr><td colspan="{max(1, table.num_columns)}">… more rows not fetched</td></tr>')
    elif table.num_rows > max_rows:
        more = table.num_rows - max_rows
        parts.append(f'<tr><td colspan="{max(1, table.num_columns)}">… {more:,} more rows</td></tr>')
    parts.append("</tbody></table></div>")
    return "".join(parts)


def error_html(kind: str, message: str) -> str:
    """An HTML block reporting a failure to fetch."""
    return (
        '<div class="quiver-result" style="color:#a00">'
        f"<b>{escape(kind)}</b>: <pre style='white-space:pre-wrap'>{escape(message)}</pre></div>"
    )


def schema_html(name: str, schema: pa.Schema) -> str:
    """An HTML block listing a table's columns and types."""
    rows = "".join(
        f"<tr><td>{escape(f.name)}</td><td class='q-type'>{escape(str(f.type))}</td></tr>" for f in schema
    )
    return (
        f'{_STYLE}<div class="quiver-result"><div class="q-summary">{escape(name)} · {len(schema)} columns</div>'
        f"<table><thead><tr><th>column</th><th>type</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )
