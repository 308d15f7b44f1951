"""The UI speaks Danish and English: every string is in the Danish catalog, translated as the
source says (same placeholders), the language negotiation picks what the user asked for, and no
template carries literal English outside ``_()`` / ``{% trans %}``.

The catalog test extracts the strings from the sources at test time, the same way
``make messages`` does (babel.cfg, ``-k _ -k lazy``), so a string added to a template or a
service without a Danish translation fails here, even before anyone runs ``make messages``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from jinja2 import Environment

from hub import i18n

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
DA_PO = ROOT / "hub" / "locale" / "da" / "LC_MESSAGES" / "messages.po"
TEMPLATE_DIR = ROOT / "templates"

# The same keywords as `make messages` (`pybabel extract -k _ -k lazy`): babel's defaults
# (_, gettext, ngettext, pgettext, ...) plus hub.i18n.lazy for strings translated at render time.
KEYWORDS = {**DEFAULT_KEYWORDS, "_": None, "lazy": None}

# Words that may stand literally in a template because they read the same in every UI language.
# Keep this nearly empty: the brand is translated too.
ALLOWED_TEMPLATE_WORDS: frozenset[str] = frozenset()

# Literal text found in a template that is waiting for a fix (wrap it in _()). Each entry is
# (template path relative to templates/, the offending text); remove the entry with the fix.
KNOWN_UNTRANSLATED_TEMPLATE_TEXT: frozenset[tuple[str, str]] = frozenset()

# Attributes whose values the user sees or hears (tooltips, screen readers, placeholders).
VISIBLE_ATTRIBUTES = (
    "aria-label",
    "aria-description",
    "aria-roledescription",
    "aria-placeholder",
    "aria-valuetext",
    "title",
    "placeholder",
    "alt",
    "label",
)

PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +\-]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa]")
WORD = re.compile(r"[^\W\d_]{2,}")


# --- the catalog -----------------------------------------------------------------------------


def _source_messages() -> dict[str | tuple[str, str | None], tuple[str | tuple[str, ...], str]]:
    """Extract every translatable string from the sources now, keyed like a babel Catalog
    (msgid, or (msgid, context)); the value is the message and where it was first found."""
    with BABEL_CFG.open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(BABEL_CFG))
    # Walk only the top-level folders babel.cfg names (not .venv, var/, media/, ...).
    roots = {pattern.split("/", 1)[0] for pattern, _method in method_map}

    def wanted(path: str) -> bool:
        return Path(path).relative_to(ROOT).parts[0] in roots

    found: dict[str | tuple[str, str | None], tuple[str | tuple[str, ...], str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=wanted
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        key = (msgid, context) if context else msgid
        found.setdefault(key, (message, f"{filename}:{lineno}"))
    return found


def _forms(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """A catalog message's id or string as a tuple: one item, or one per plural form."""
    if value is None:
        return ("",)
    return (value,) if isinstance(value, str) else tuple(value)


def _danish_catalog() -> Catalog:
    with DA_PO.open("rb") as po_file:
        return read_po(po_file, locale="da")


def test_sources_yield_messages() -> None:
    # Guards the test below against passing because the extraction found nothing.
    messages = _source_messages()
    assert "Sign in" in messages
    assert ("%(num)d user", "%(num)d users") in [m for m, _where in messages.values()]


def test_every_source_string_has_a_danish_translation() -> None:
    catalog = _danish_catalog()
    problems: list[str] = []
    for key, (message, where) in sorted(_source_messages().items(), key=lambda i: i[1][1]):
        msgid, context = key if isinstance(key, tuple) else (key, None)
        entry = catalog.get(msgid, context)
        if entry is None:
            problems.append(f"{where}: {message!r} is not in the Danish catalog")
            continue
        if entry.fuzzy:
            problems.append(f"{where}: {message!r} is marked fuzzy")
        if isinstance(message, tuple) != entry.pluralizable or (
            entry.pluralizable and _forms(entry.id) != _forms(message)
        ):
            problems.append(f"{where}: {message!r} has a different plural form in the catalog")
        if not all(form.strip() for form in _forms(entry.string)):
            problems.append(f"{where}: {message!r} has no (or an incomplete) Danish translation")
    assert not problems, (
        "Untranslated UI text. Run `make messages`, then translate these in "
        f"{DA_PO.relative_to(ROOT)}:\n" + "\n".join(problems)
    )


def test_catalog_header() -> None:
    catalog = _danish_catalog()
    assert str(catalog.locale) == "da"
    assert catalog.charset.lower() == "utf-8"
    assert catalog.num_plurals == 2
    assert catalog.plural_expr.replace(" ", "") == "(n!=1)"
    assert not catalog.fuzzy, "the catalog header is marked fuzzy"
    headers = dict(catalog.mime_headers)
    assert headers.get("Language") == "da"
    assert headers.get("Plural-Forms") == "nplurals=2; plural=(n != 1);"


def _placeholders(text: str) -> list[str]:
    return sorted(match.group(0) for match in PLACEHOLDER.finditer(text))


def _stray_percent_signs(text: str) -> int:
    return PLACEHOLDER.sub("", text).replace("%%", "").count("%")


def test_translations_keep_the_placeholders() -> None:
    problems: list[str] = []
    for entry in _danish_catalog():
        if not entry.id:
            continue
        sources = _forms(entry.id)
        targets = _forms(entry.string)
        for index, target in enumerate(targets):
            if not target:
                continue  # reported by the completeness test
            source = sources[min(index, len(sources) - 1)]
            if _placeholders(source) != _placeholders(target):
                problems.append(
                    f"{source!r} -> {target!r}: placeholders {_placeholders(target)}, "
                    f"expected {_placeholders(source)}"
                )
            # Templates use newstyle gettext, which always applies `%`: a lone % in a translation
            # breaks the page or prints garbage ("100 % af" formats ascii() of the arguments).
            if _stray_percent_signs(target) != _stray_percent_signs(source):
                problems.append(f"{source!r} -> {target!r}: a lone % (write %% for a percent sign)")
    assert not problems, "Danish translations with wrong placeholders:\n" + "\n".join(problems)


# --- hub.i18n ----------------------------------------------------------------------------------


def test_danish_and_english_translations() -> None:
    danish = i18n.translations("da")
    assert danish.gettext("Sign in") == "Log ind"
    assert danish.gettext("Sign out") == "Log ud"
    assert danish.ngettext("%(num)d user", "%(num)d users", 1) == "%(num)d bruger"
    assert danish.ngettext("%(num)d user", "%(num)d users", 2) == "%(num)d brugere"
    english = i18n.translations("en")
    assert english.gettext("Sign in") == "Sign in"
    assert english.ngettext("%(num)d user", "%(num)d users", 2) == "%(num)d users"


def test_gettext_follows_the_current_language() -> None:
    with i18n.use_language("da"):
        assert i18n.gettext("Password") == "Adgangskode"
    with i18n.use_language("en"):
        assert i18n.gettext("Password") == "Password"


@pytest.mark.parametrize(
    ("cookie", "accept_language", "default", "expected"),
    [
        ("en", "da", "da", "en"),  # the picker's cookie wins over the browser
        ("da", "en-GB,en;q=0.9", "en", "da"),
        (None, "da-DK,da;q=0.9,en;q=0.5", "en", "da"),
        (None, "en-GB,en;q=0.9", "da", "en"),
        (None, "en;q=0.4, da;q=0.8", "en", "da"),  # quality, not order, decides
        (None, "fr, de", "da", "da"),
        (None, "fr, de", "en", "en"),
        (None, ";;q=x", "da", "da"),
        (None, ";;q=x", "en", "en"),
        (None, "da;q=abc, ,,;", "en", "en"),
        (None, "", "en", "en"),
        (None, None, "da", "da"),
        ("xx", None, "en", "en"),  # an unknown cookie value is ignored
    ],
)
def test_negotiate(
    cookie: str | None, accept_language: str | None, default: str, expected: str
) -> None:
    assert i18n.negotiate(cookie, accept_language, default) == expected


# --- templates ---------------------------------------------------------------------------------

# Only used to lex (the same delimiters and whitespace rules as hub.templating), never to render.
_LEXER_ENV = Environment(
    extensions=["jinja2.ext.i18n"], autoescape=True, trim_blocks=True, lstrip_blocks=True
)


def _template_files() -> list[Path]:
    return sorted(path for path in TEMPLATE_DIR.rglob("*") if path.suffix in {".html", ".txt"})


def _literal_text(source: str) -> tuple[str, list[int]]:
    """The template's own text with every Jinja tag, expression, comment and {% trans %} body
    removed, plus the source line number of each character of that text."""
    text: list[str] = []
    lines: list[int] = []
    in_trans = False
    expect_tag_name = False
    for lineno, token, value in _LEXER_ENV.lex(source):
        if token == "whitespace":
            continue
        if token == "block_begin":
            expect_tag_name = True
            continue
        if expect_tag_name and token == "name":
            if value == "trans":
                in_trans = True
            elif value == "endtrans":
                in_trans = False
        expect_tag_name = False
        if token == "data" and not in_trans:
            line = lineno
            for char in value:
                text.append(char)
                lines.append(line)
                line += char == "\n"
    return "".join(text), lines


def _blank(match: re.Match[str]) -> str:
    # Keep the offsets (and so the line numbers) of everything after a removed span.
    return re.sub(r"[^\n]", " ", match.group(0))


_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[!/?]?[a-zA-Z][^>]*>")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|\w+);")
_ATTRIBUTE = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(name) for name in VISIBLE_ATTRIBUTES) + r")"
    r"\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+))",
    re.IGNORECASE,
)
_BUTTON_INPUT = re.compile(r"<input\b[^>]*\btype\s*=\s*[\"']?(?:submit|button|reset)\b", re.I)
_VALUE = re.compile(r"(?<![\w-])value\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+))", re.I)


def _untranslated(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) for each piece of literal, user-visible text in a template."""
    text, lines = _literal_text(path.read_text(encoding="utf-8"))
    text = _HTML_COMMENT.sub(_blank, text)
    text = _SCRIPT_OR_STYLE.sub(_blank, text)
    for tag in _TAG.finditer(text):
        for attribute in _ATTRIBUTE.finditer(tag.group(0)):
            value = next(v for v in attribute.groups()[1:] if v is not None)
            if WORD.search(_ENTITY.sub(" ", value)):
                offset = tag.start() + attribute.start()
                yield lines[offset], attribute.group(0)
        if _BUTTON_INPUT.match(tag.group(0)):
            for attribute in _VALUE.finditer(tag.group(0)):
                value = next(v for v in attribute.groups() if v is not None)
                if WORD.search(value):
                    yield lines[tag.start() + attribute.start()], attribute.group(0)
    text = _TAG.sub(_blank, text)
    text = _ENTITY.sub(_blank, text)
    reported: set[int] = set()
    for word in WORD.finditer(text):
        line = lines[word.start()]
        if word.group(0) in ALLOWED_TEMPLATE_WORDS or line in reported:
            continue
        # Report the whole run of text on that line, which is easier to find than a word.
        reported.add(line)
        start = text.rfind("\n", 0, word.start()) + 1
        end = text.find("\n", word.end())
        yield line, " ".join(text[start : end if end >= 0 else None].split())


def test_templates_exist() -> None:
    assert len(_template_files()) > 5


def test_templates_have_no_literal_text() -> None:
    problems: set[tuple[str, int, str]] = set()
    for path in _template_files():
        name = path.relative_to(TEMPLATE_DIR).as_posix()
        for line, text in _untranslated(path):
            if (name, text) not in KNOWN_UNTRANSLATED_TEMPLATE_TEXT:
                problems.add((name, line, text))
    assert not problems, (
        "Template text outside _() / {% trans %} (it would show in English in the Danish UI):\n"
        + "\n".join(f"templates/{name}:{line}: {text!r}" for name, line, text in sorted(problems))
    )


def test_imported_templates_are_read_in_each_requests_language() -> None:
    # Jinja keeps a template imported without the context for the life of the process, with
    # its labels (`{% set kinds = {"...": _("...")} %}`) in the language of the first page it
    # rendered: an English officer would read a Danish one's labels. Every import takes it.
    imports = re.compile(r"\{%-?\s*(?:import|from)\s[^%]*%\}")
    cached = [
        f"templates/{path.relative_to(TEMPLATE_DIR).as_posix()}: {statement}"
        for path in _template_files()
        for statement in imports.findall(path.read_text(encoding="utf-8"))
        if "with context" not in statement
    ]
    assert not cached, "Import these templates `with context`:\n" + "\n".join(cached)


def test_known_untranslated_template_text_is_still_there() -> None:
    # Once a known case is fixed, its allow-list entry must go, so it cannot hide a new one.
    current = {
        (path.relative_to(TEMPLATE_DIR).as_posix(), text)
        for path in _template_files()
        for _line, text in _untranslated(path)
    }
    stale = KNOWN_UNTRANSLATED_TEMPLATE_TEXT - current
    assert not stale, f"Fixed now; remove from KNOWN_UNTRANSLATED_TEMPLATE_TEXT: {sorted(stale)}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<p>{{ _('Hello') }}</p>", []),
        ("<p>Hello there</p>", [(1, "Hello there")]),
        ("{# a comment #}<p>{% trans %}Hello {{ name }}{% endtrans %}</p>", []),
        ("<nav aria-label=\"{{ _('Main') }}\"></nav>", []),
        ('<nav aria-label="Main"></nav>', [(1, 'aria-label="Main"')]),
        ("<img src=\"x.png\" alt='A logo'>", [(1, "alt='A logo'")]),
        ('<input type="submit" value="Send">', [(1, 'value="Send"')]),
        ('<input name="q" value="{{ q }}">', []),
        ("{% if x %}\n<b>{{ x }}</b>\n{% endif %}\n<i>Oops</i>", [(4, "Oops")]),
        ("<!-- a note -->&nbsp;·&amp; {{ 1 }}…", []),
    ],
)
def test_the_template_check_itself(
    tmp_path: Path, source: str, expected: list[tuple[int, str]]
) -> None:
    path = tmp_path / "sample.html"
    path.write_text(source, encoding="utf-8")
    assert list(_untranslated(path)) == expected
