"""Scripts and Q&A are Markdown written by officers, shown to partners: rendered safely."""

from __future__ import annotations

from hub.markdown import render_markdown


def test_raw_html_is_shown_as_text() -> None:
    html = render_markdown('<script>alert("x")</script>\n\n<img src=x onerror=alert(1)>')
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_only_web_and_mail_links_become_links() -> None:
    html = render_markdown(
        "[a](javascript:alert(1)) [b](data:text/html,x) [c](https://sst.dk) [d](mailto:a@b.dk)"
    )
    assert 'href="javascript' not in html and 'href="data' not in html
    assert '<a href="https://sst.dk" rel="noopener noreferrer nofollow">c</a>' in html
    assert 'href="mailto:a@b.dk"' in html


def test_images_are_not_fetched_and_headings_sit_below_the_page() -> None:
    html = render_markdown("# Intro\n\n![poster](https://tracker.example/p.png)")
    assert "<img" not in html
    assert "<h3>Intro</h3>" in html


def test_lists_tables_and_emphasis_work() -> None:
    html = render_markdown("- *en*\n- **to**\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<em>en</em>" in html and "<strong>to</strong>" in html and "<table>" in html
    assert render_markdown(None) == ""
