"""Report sections and their rendering to one HTML page and a Markdown twin.

A section is plain data (title + blocks), so each pipeline builds its own section in a node and
the report pipeline only assembles them. Blocks: text, table (a DataFrame) and figure (PNG bytes
plus the file name the Markdown twin links to).
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field

import pandas as pd


@dataclass
class Block:
    kind: str  # "text" | "table" | "figure"
    title: str = ""
    text: str = ""
    frame: pd.DataFrame | None = None
    png: bytes | None = None
    file_name: str = ""
    note: str = ""


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def text(self, text: str) -> Section:
        self.blocks.append(Block("text", text=text))
        return self

    def table(self, title: str, frame: pd.DataFrame, note: str = "") -> Section:
        self.blocks.append(Block("table", title=title, frame=frame, note=note))
        return self

    def figure(self, title: str, png: bytes, file_name: str, note: str = "") -> Section:
        self.blocks.append(Block("figure", title=title, png=png, file_name=file_name, note=note))
        return self


def _format_frame(frame: pd.DataFrame) -> pd.DataFrame:
    def cell(value: object) -> str:
        if isinstance(value, float):
            return (
                "" if pd.isna(value) else f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
            )
        return "" if value is None else str(value)

    return frame.map(cell)


def render_markdown(title: str, sections: list[Section]) -> str:
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            if block.kind == "text":
                lines += [block.text, ""]
            elif block.kind == "table" and block.frame is not None:
                lines += [f"### {block.title}", ""]
                lines += [_format_frame(block.frame).to_markdown(index=False), ""]
                if block.note:
                    lines += [f"_{block.note}_", ""]
            elif block.kind == "figure":
                lines += [f"### {block.title}", "", f"![{block.title}]({block.file_name})", ""]
                if block.note:
                    lines += [f"_{block.note}_", ""]
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.85em}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}
th{background:#f0f0f0} td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee} .note{color:#555;font-style:italic}
.synthetic{background:#fff3cd;border:1px solid #e0c060;padding:.5em 1em}
"""


def render_html(title: str, sections: list[Section]) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        for block in section.blocks:
            if block.kind == "text":
                css = " class='synthetic'" if "SYNTHETIC" in block.text else ""
                parts.append(f"<p{css}>{html.escape(block.text)}</p>")
            elif block.kind == "table" and block.frame is not None:
                parts.append(f"<h3>{html.escape(block.title)}</h3>")
                parts.append(_format_frame(block.frame).to_html(index=False, escape=True))
                if block.note:
                    parts.append(f"<p class='note'>{html.escape(block.note)}</p>")
            elif block.kind == "figure" and block.png:
                encoded = base64.b64encode(block.png).decode("ascii")
                parts.append(f"<h3>{html.escape(block.title)}</h3>")
                parts.append(
                    f"<img alt='{html.escape(block.title)}' src='data:image/png;base64,{encoded}'>"
                )
                if block.note:
                    parts.append(f"<p class='note'>{html.escape(block.note)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
