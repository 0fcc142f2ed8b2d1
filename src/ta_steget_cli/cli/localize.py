"""The command tree and Click's own words in the user's language.

Help texts are plain English in the code (docstrings and `help=`); Typer captures them when the
commands are registered, before anyone knows the language. So each run translates the built
tree once the language is chosen (`localize`), and renders usage errors from Click's exceptions
in its own words (`usage_error_text`). Click's fixed English ("Usage:", "Show this message and
exit.", "No such option") is replaced here, in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import typer
from rich.markup import escape

from ..i18n import N_, _, ngettext
from .examples import examples_of

# Typer's own messages go through stdlib gettext's `_` in these modules; route them to ours.
_TYPER_MODULES = ("typer.core", "typer.rich_utils")
# Typer computes these once at import; recomputed in the run's language.
_RICH_CONSTANTS = {
    "DEPRECATED_STRING": N_("(deprecated) "),
    "DEFAULT_STRING": N_("[default: {}]"),
    "ENVVAR_STRING": N_("[env var: {}]"),
    "REQUIRED_LONG_STRING": N_("[required]"),
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "ERRORS_PANEL_TITLE": N_("Error"),
    "ABORTED_TEXT": N_("Aborted."),
    "RICH_HELP": N_("Try [blue]'{command_path} {help_option}'[/] for help."),
}
# Typer's gettext messages, listed so that the catalogue holds them.
_TYPER_MESSAGES = (
    N_("No such command {name!r}."),
    N_("Missing command."),
    N_("default: {default}"),
    N_("required"),
    N_("env var: {var}"),
    N_("(dynamic)"),
    N_("Aborted!"),
)
HELP_OPTION_TEXT = N_("Show this message and exit.")
USAGE_PREFIX = N_("Usage: ")
OPTIONS_METAVAR = N_("[OPTIONS]")
SUBCOMMAND_METAVAR = N_("COMMAND [ARGS]...")
_ORIGINAL = "_tasteget_english"


class LocalizedFormatter(typer.Context.formatter_class):  # type: ignore[misc,valid-type]
    """Click's help formatter with the usage line's prefix in the user's language."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _(USAGE_PREFIX) if prefix is None else prefix)


class LocalizedContext(typer.Context):
    """A context whose help option and usage line speak the user's language."""

    formatter_class = LocalizedFormatter

    def __init__(self, command: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(command, *args, **kwargs)
        option = command.get_help_option(self)
        if option is not None:
            option.help = _(HELP_OPTION_TEXT)
            option.metavar = ""  # a flag


def localize(root: Any) -> None:
    """Translate every help text of the tree under `root` into the current language."""
    _route_typer_messages()
    for command, path in walk(root):
        command.context_class = LocalizedContext
        command.options_metavar = _(OPTIONS_METAVAR)
        if hasattr(command, "subcommand_metavar"):
            command.subcommand_metavar = _(SUBCOMMAND_METAVAR)
        for attribute in ("help", "short_help", "epilog"):
            _translate(command, attribute)
        examples = examples_of(path)
        if examples:  # after the epilog's translation, which would put back the first language
            heading = ngettext("Example:", "Examples:", len(examples))
            command.epilog = "\n".join([heading, *(f"  {escape(e)}" for e in examples)])
        for param in command.params:
            _translate(param, "help")
            _translate(param, "metavar")
            if getattr(param, "is_flag", False) and not getattr(param, "count", False):
                param.metavar = ""  # a flag takes no value; do not show one (was "<bool>")


def _translate(obj: Any, attribute: str) -> None:
    originals: dict[str, str | None] = obj.__dict__.setdefault(_ORIGINAL, {})
    if attribute not in originals:
        originals[attribute] = getattr(obj, attribute, None)
    english = originals[attribute]
    if english:
        # Help texts are plain text: "[notify] outbox" is a config table, not Rich markup
        # (unescaped, Rich swallowed it and left "(default:  outbox, ...)").
        setattr(obj, attribute, escape(_(english)) if attribute != "metavar" else _(english))


def _route_typer_messages() -> None:
    import importlib

    for name in _TYPER_MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "_"):
            module._ = _  # type: ignore[attr-defined]
    rich_utils = importlib.import_module("typer.rich_utils")
    for constant, english in _RICH_CONSTANTS.items():
        if hasattr(rich_utils, constant):
            setattr(rich_utils, constant, _(english))


def walk(root: Any, path: str = "tasteget") -> Iterator[tuple[Any, str]]:
    """Each command of the tree with its command path, the root first."""
    yield root, path
    for name, sub in sorted(getattr(root, "commands", {}).items()):
        yield from walk(sub, f"{path} {name}")


def texts_of(root: Any) -> Iterator[tuple[str, str]]:
    """The English help texts of the tree (for the catalogue), each with its command path."""
    for command, path in walk(root):
        originals = command.__dict__.get(_ORIGINAL, {})
        for attribute in ("help", "short_help", "epilog"):
            text = originals.get(attribute, getattr(command, attribute, None))
            if text:
                yield text, path
        for param in command.params:
            where = f"{path} {param.opts[0] if param.opts else param.name}"
            for attribute in ("help", "metavar"):
                text = param.__dict__.get(_ORIGINAL, {}).get(attribute, getattr(param, attribute))
                if text:
                    yield text, where


# ---------------------------------------------------------------- usage errors


def _class_names(exc: BaseException) -> set[str]:
    return {c.__name__ for c in type(exc).__mro__}


def _param_name(param: Any) -> str:
    if param is None:
        return "?"
    if getattr(param, "param_type_name", "") == "argument":
        return str(param.metavar or param.name).upper()
    return " / ".join(param.opts) if param.opts else str(param.name)


# Click's and Typer's messages about a value, as Typer 0.29 words them, and ours for each.
_VALUE_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^(?:Value error, )?(?P<value>'.*') is not one of (?P<choices>.+?)\.?$"),
        N_("{value} is not one of {choices}"),
    ),
    (re.compile(r"^Input should be a valid integer\b.*$"), N_("expected a whole number")),
    (re.compile(r"^Input should be a valid number\b.*$"), N_("expected a number")),
    (
        re.compile(r"^Input should be greater than or equal to (?P<n>-?[\d.]+)$"),
        N_("expected at least {n}"),
    ),
    (
        re.compile(r"^Input should be less than or equal to (?P<n>-?[\d.]+)$"),
        N_("expected at most {n}"),
    ),
    (re.compile(r"^(?P<label>\w+) (?P<path>'.*') does not exist\.$"), N_("{path} does not exist")),
    (re.compile(r"^(?P<label>\w+) (?P<path>'.*') is a directory\.$"), N_("{path} is a folder")),
    (re.compile(r"^(?P<label>\w+) (?P<path>'.*') is a file\.$"), N_("{path} is a file")),
)
_PARSER_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^Option '(?P<option>.*)' requires an argument\.$"),
        N_("{option} needs a value"),
    ),
    (
        re.compile(r"^Option '(?P<option>.*)' requires (?P<n>\d+) arguments\.$"),
        N_("{option} needs {n} values"),
    ),
    (
        re.compile(r"^Option '(?P<option>.*)' does not take a value\.$"),
        N_("{option} takes no value"),
    ),
    (
        re.compile(r"^Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)$"),
        N_("unexpected extra argument: {args}"),
    ),
)


def _reworded(message: str, table: tuple[tuple[re.Pattern[str], str], ...]) -> str:
    for pattern, template in table:
        match = pattern.match(message.strip())
        if match:
            return _(template).format(**match.groupdict())
    return message


def usage_error_text(exc: Any) -> str:
    """Click's usage error `exc` as one line in the user's language."""
    names = _class_names(exc)
    if "NoSuchOption" in names:
        text = _("unknown option {option}").format(option=exc.option_name)
        possibilities = sorted(getattr(exc, "possibilities", None) or ())
        if possibilities:
            text += " " + _("(did you mean {options}?)").format(options=", ".join(possibilities))
        return text
    if "MissingParameter" in names:
        param = getattr(exc, "param", None)
        if getattr(param, "param_type_name", "") == "argument":
            return _("missing argument {name}").format(name=_param_name(param))
        return _("missing option {name}").format(name=_param_name(param))
    if "BadParameter" in names:
        hint = getattr(exc, "param_hint", None)
        where = hint if isinstance(hint, str) else _param_name(getattr(exc, "param", None))
        detail = _reworded(exc.message, _VALUE_MESSAGES)
        return _("invalid value for {option}: {detail}").format(option=where, detail=detail)
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    return _reworded(message, _PARSER_MESSAGES)


def see_help(command_path: str) -> str:
    return _("(see '{command} --help')").format(command=command_path)
