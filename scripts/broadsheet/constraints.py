"""A field's type, format and constraints in English, worded once.

`expectations` gives one phrase per thing a field requires, each completing "the value must be …": error
messages say `name 'x' is not <phrase>`, and the README data dictionary and the `broadsheet new` template write
each as a sentence (`sentence`). Nothing else words a constraint."""

from __future__ import annotations

from collections.abc import Callable

from broadsheet.package import FieldSpec

# Table Schema string formats, as a curator would say them
FORMATS = {"email": "an email address", "uri": "a web address (URI) such as https://example.org/page",
           "uuid": "a UUID", "binary": "base64-encoded data"}
TYPES = {"integer": "a whole number", "number": "a number", "boolean": "true or false",
         "date": "a date YYYY-MM-DD", "array": "a list such as [first, second]"}
PARTIAL_DATE_WORDS = "a date YYYY, YYYY-MM or YYYY-MM-DD"


def _code(text: object) -> str:
    return f"`{text}`"


def _characters(count: object) -> str:
    return f"{count} character" + ("" if count == 1 else "s")


def expectations(field: FieldSpec, show: Callable[[object], str] = str) -> dict[str, str]:
    """What the field accepts, one phrase per requirement, keyed by its Table Schema name, in this order: `type`
    (only when it says more than "text"), `required`, `enum`, `pattern`, `minimum`, `maximum`, `minLength`,
    `maxLength`, `unique`. `show` writes one allowed value of an enum (plain, or code with its label in Markdown);
    a pattern is always written as code, so that no punctuation around it reads as part of it."""
    found: dict[str, str] = {}
    constraints = field.constraints
    kind = PARTIAL_DATE_WORDS if field.flag("partial-date") else (
        FORMATS.get(field.descriptor.get("format") or "") or TYPES.get(field.type, ""))
    if kind:
        found["type"] = kind
    if constraints.get("required"):
        found["required"] = "required"
    if field.enum:
        listed = "one of " + ", ".join(show(value) for value in field.enum)
        found["enum"] = ("each item " + listed) if field.coded is not field.descriptor else listed
    if "pattern" in constraints and not field.flag("partial-date"):  # a partial date's pattern is the type's words
        found["pattern"] = pattern_words(str(constraints["pattern"]))
    for bound, words in (("minimum", "at least {}"), ("maximum", "at most {}")):
        if bound in constraints:
            found[bound] = words.format(constraints[bound])
    for bound, words in (("minLength", "at least {}"), ("maxLength", "at most {}")):
        if bound in constraints:
            found[bound] = words.format(_characters(constraints[bound]))
    if constraints.get("unique"):
        found["unique"] = "unique"
    return found


def pattern_words(pattern: str) -> str:
    """A pattern as validation applies it: to the whole value (which a reader of `^…$` may miss, and a pattern
    without them does not say)."""
    return f"text matching {_code(pattern)} as a whole"


def sentence(phrase: str) -> str:
    """A phrase of `expectations` as a sentence of its own: `at least 0` → `At least 0.`"""
    return phrase[:1].upper() + phrase[1:] + "."
