"""The study's tables as small HTML pages, for the report (which shows HTML and images in
its viewer and only offers other files for download)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd

from interp5d.jsonio import flatten

STYLE = """
body { font-family: system-ui, sans-serif; font-size: 13px; margin: 1em; color: #111; }
table { border-collapse: collapse; margin: 0.5em 0 1.2em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
code { background: #f4f4f4; padding: 0 2px; }
"""


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def frame_html(df: pd.DataFrame) -> str:
    """A table, every row and column (numbers to 6 significant digits)."""
    return df.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.6g}", border=0)


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", text)


def markdown_html(text: str) -> str:
    """The Markdown this project writes (headings, paragraphs, lists, pipe tables) as HTML."""
    out, para, table, items = [], [], [], []

    def flush() -> None:
        if para:
            out.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()
        if table:
            rows = [r for r in table if not re.fullmatch(r"\|(\s*-+\s*\|)+", r.replace(":", ""))]
            cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
            head = "".join(f"<th>{_inline(c)}</th>" for c in cells[0])
            body = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in cells[1:]
            )
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            table.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            if para or items:
                flush()
            table.append(line)
            continue
        if table:
            flush()
        heading = re.match(r"(#{1,6}) (.*)", line)
        if heading:
            flush()
            level = min(len(heading[1]) + 1, 6)  # the page's title is the h1
            out.append(f"<h{level}>{_inline(heading[2])}</h{level}>")
        elif line.startswith("- "):
            if para:
                flush()
            items.append(line[2:])
        elif not line.strip():
            flush()
        else:
            para.append(line)
    flush()
    return "\n".join(out)


def json_html(obj: dict) -> str:
    """A record as a two-column table of its (dotted) keys and values."""

    def text(v) -> str:
        return html.escape(json.dumps(v) if isinstance(v, list | dict) else str(v))

    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{text(v)}</td></tr>" for k, v in flatten(obj).items()
    )
    return f"<table><thead><tr><th>key</th><th>value</th></tr></thead><tbody>{rows}</tbody></table>"


def render(source: str | Path, title: str) -> str:
    """The HTML page of one of the study's files: a .csv table, .md tables or .json record."""
    source = Path(source)
    if source.suffix == ".csv":
        body = frame_html(pd.read_csv(source))
    elif source.suffix == ".md":
        body = markdown_html(source.read_text())
    elif source.suffix == ".json":
        body = json_html(json.loads(source.read_text()))
    else:
        raise ValueError(f"{source}: no HTML rendering for {source.suffix} files")
    return page(title, body)
