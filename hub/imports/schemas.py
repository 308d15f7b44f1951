"""The result of an import: what it would do (a dry run) or did (committed), shown by the API
as JSON and by `hub import` as text."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from hub.i18n import _, ngettext

ImportFormat = Literal["partners", "areas"]
ObjectType = Literal["organisation", "contact", "area", "uptake"]
Action = Literal["create", "update", "skip"]

OBJECT_TYPES: dict[ImportFormat, tuple[ObjectType, ...]] = {
    "partners": ("organisation", "contact"),
    "areas": ("area", "uptake"),
}


class RowError(BaseModel):
    """A bad row (or the file itself when ``line`` is 0 or the header's line)."""

    line: int = Field(description="The line in the file, counting from 1")
    column: str = Field(description="The column (its English name), empty for the whole row")
    reason: str


class PlannedChange(BaseModel):
    object: ObjectType
    action: Action
    key: str = Field(description="External id, e-mail, area code, or area code + date + age band")
    line: int = Field(description="The first line that defines the object")
    fields: list[str] = Field(default_factory=list, description="What an update changes")


class ActionCounts(BaseModel):
    create: int = 0
    update: int = 0
    skip: int = 0


class ImportPlan(BaseModel):
    format: ImportFormat
    committed: bool = False
    encoding: str = ""
    delimiter: str = ""
    rows: int = Field(default=0, description="Data rows read (blank lines not counted)")
    counts: dict[str, ActionCounts] = Field(default_factory=dict)
    changes: list[PlannedChange] = Field(default_factory=list)
    errors: list[RowError] = Field(default_factory=list)
    ignored_columns: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, obj: ObjectType, action: Action) -> int:
        counts = self.counts.get(obj)
        return getattr(counts, action) if counts else 0


def build_counts(fmt: ImportFormat, changes: list[PlannedChange]) -> dict[str, ActionCounts]:
    counts: dict[str, ActionCounts] = {obj: ActionCounts() for obj in OBJECT_TYPES[fmt]}
    for change in changes:
        current = counts[change.object]
        setattr(current, change.action, getattr(current, change.action) + 1)
    return counts


def error_text(error: RowError) -> str:
    if error.line and error.column:
        return _("line %(line)d, column %(column)s: %(reason)s") % {
            "line": error.line,
            "column": error.column,
            "reason": error.reason,
        }
    if error.line:
        return _("line %(line)d: %(reason)s") % {"line": error.line, "reason": error.reason}
    return error.reason


def object_label(obj: ObjectType, n: int) -> str:
    if obj == "organisation":
        return ngettext("%(num)d organisation", "%(num)d organisations", n) % {"num": n}
    if obj == "contact":
        return ngettext("%(num)d contact", "%(num)d contacts", n) % {"num": n}
    if obj == "area":
        return ngettext("%(num)d area", "%(num)d areas", n) % {"num": n}
    return ngettext("%(num)d uptake figure", "%(num)d uptake figures", n) % {"num": n}


def summary_lines(plan: ImportPlan) -> list[str]:
    """The plan as text for people: counts per object type, every error, notes."""
    shown = {"semicolon": ";", "comma": ",", "tab": "tab"}.get(plan.delimiter, plan.delimiter)
    lines = [
        ngettext(
            "Read %(num)d row; encoding %(encoding)s, delimiter %(delimiter)s.",
            "Read %(num)d rows; encoding %(encoding)s, delimiter %(delimiter)s.",
            plan.rows,
        )
        % {"num": plan.rows, "encoding": plan.encoding, "delimiter": shown}
        if plan.encoding
        else _("The file could not be read.")
    ]
    for obj in OBJECT_TYPES[plan.format]:
        counts = plan.counts.get(obj, ActionCounts())
        lines.append(
            _("%(objects)s: %(create)d to create, %(update)d to update, %(skip)d unchanged")
            % {
                "objects": object_label(obj, counts.create + counts.update + counts.skip),
                "create": counts.create,
                "update": counts.update,
                "skip": counts.skip,
            }
            if not plan.committed
            else _("%(objects)s: %(create)d created, %(update)d updated, %(skip)d unchanged")
            % {
                "objects": object_label(obj, counts.create + counts.update + counts.skip),
                "create": counts.create,
                "update": counts.update,
                "skip": counts.skip,
            }
        )
    if plan.ignored_columns:
        lines.append(
            _("Ignored columns: %(columns)s") % {"columns": ", ".join(plan.ignored_columns)}
        )
    lines.extend(plan.notes)
    if plan.errors:
        lines.append(
            ngettext("%(num)d error:", "%(num)d errors:", len(plan.errors))
            % {"num": len(plan.errors)}
        )
        lines.extend(f"  {error_text(error)}" for error in plan.errors)
    return lines
