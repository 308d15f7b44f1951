"""Markdown for scripts and messages, rendered safely: raw HTML in the source is shown as text,
links may only be http(s) or mailto, and every link opens as a plain link with no referrer."""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

SAFE_SCHEMES = ("http://", "https://", "mailto:")
HEADING_OFFSET = 2


def _validate_link(url: str) -> bool:
    return url.strip().lower().startswith(SAFE_SCHEMES)


def _build() -> MarkdownIt:
    # CommonMark with tables and strikethrough, no raw HTML, no images (a script is text; an
    # image link would make the reader's browser fetch a third-party address).
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable(["image", "html_inline", "html_block"])
    md.validateLink = _validate_link  # type: ignore[method-assign]

    def link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
        return str(renderer.renderToken(tokens, idx, options, env))

    def heading(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        # The text sits under the page's own h1 and h2: its headings start at h3.
        level = min(int(tokens[idx].tag[1]) + HEADING_OFFSET, 6)
        tokens[idx].tag = f"h{level}"
        return str(renderer.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("heading_open", heading)
    md.add_render_rule("heading_close", heading)
    return md


_md = _build()


def render_markdown(source: str | None) -> Markup:
    """Safe HTML for a Markdown text (empty for None)."""
    return Markup(_md.render(source or ""))  # noqa: S704 - raw HTML disabled, links checked
