"""IPython magics: ``%load_ext quiver``, then ``%quiver`` and ``%%quiver``.

::

    %load_ext quiver
    %quiver connect grpc://127.0.0.1:8815 --token $TOKEN
    %quiver tables                          # the warehouse's tables (pyarrow without pandas)
    %quiver SELECT count(*) FROM demo.plays  # one line of SQL

    %%quiver -o top
    SELECT name, count(*) AS plays
    FROM demo.plays JOIN demo.titles USING (title_id)
    GROUP BY name ORDER BY plays DESC LIMIT 10

The cell magic runs the cell's SQL and displays the result as a pandas
DataFrame (a :class:`quiver.Result` without pandas); ``-o NAME`` also keeps it
in the variable ``NAME``. Without ``%quiver connect`` the magics connect to
``$QUIVER_URI`` (or ``$QUIVER_SERVER``; default ``grpc://127.0.0.1:8815``)
with ``$QUIVER_TOKEN``. A URI is ``host:port``, ``grpc://host:port`` or
``grpc+tls://host:port``, as for ``quiver query --server``. ``%quiver
connect`` has a flag for each keyword argument of :func:`quiver.connect`
(``--username``, ``--max-streams``, ``--compression``, …; see
:class:`quiver.options.ConnectOptions`), and asks for the password when
``--username`` comes without ``--password`` or ``$QUIVER_PASSWORD``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shlex
from collections.abc import Callable
from typing import Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from .connection import Connection, connect
from .errors import Error
from .options import URI_FORMS, declared

__all__ = ["QuiverMagics", "load_ipython_extension"]


class _Parser(argparse.ArgumentParser):
    """An argument parser that reports mistakes as IPython usage errors, never exits."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage()}")


def _connect_parser() -> _Parser:
    """``%quiver connect [URI] [--option VALUE …]``: a flag for each of :func:`quiver.options.declared`."""
    p = _Parser(prog="%quiver connect", add_help=False)
    p.add_argument("uri", nargs="?", default=None, help=URI_FORMS)
    for name, option in declared().items():
        flag = "--" + name.replace("_", "-")
        # None: not given, so connect() applies the option's default.
        p.add_argument(flag, *option.flags, dest=name, default=None, type=_flag_value(option.parse), help=option.help)
    return p


def _flag_value(parse: Callable[[str], object] | None) -> Callable[[str], object]:
    """The value of a flag's text, by the option's ``parse``; a parse error is a usage error."""

    def value(text: str) -> object:
        if parse is None:
            return text
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None

    return value


def _cell_parser() -> _Parser:
    p = _Parser(prog="%%quiver", add_help=False)
    p.add_argument("-o", "--out", default=None, metavar="NAME", help="keep the result in this variable")
    p.add_argument(
        "--format",
        choices=["pandas", "polars", "arrow", "result"],
        default="pandas",
        help="what to return (default: a pandas DataFrame)",
    )
    return p


@magics_class
class QuiverMagics(Magics):
    """The ``%quiver`` line magic and ``%%quiver`` cell magic."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.connection: Connection | None = None

    @line_cell_magic
    def quiver(self, line: str, cell: str | None = None) -> Any:
        """Connect (``%quiver connect URI``), list tables (``%quiver tables``) or run SQL."""
        if cell is not None:
            args = _cell_parser().parse_args(shlex.split(line))
            return self._run(cell, args.out, args.format)
        words = line.strip().split(None, 1)
        if not words:
            raise UsageError("usage: %quiver connect [URI] [--token T] | %quiver tables | %quiver SQL")
        command = words[0].lower()
        if command == "connect":
            return self._connect(shlex.split(words[1]) if len(words) > 1 else [])
        if command in ("close", "disconnect"):
            if self.connection is not None:
                self.connection.close()
                self.connection = None
            return None
        if command == "tables":
            return self._conn().tables()
        return self._run(line, None, "pandas")

    def _connect(self, argv: list[str]) -> Connection:
        args = vars(_connect_parser().parse_args(argv))
        uri = args.pop("uri")
        options: dict[str, Any] = {name: value for name, value in args.items() if value is not None}
        if "username" in options and "password" not in options and not os.environ.get("QUIVER_PASSWORD"):
            options["password"] = getpass.getpass(f"password for {options['username']}: ")
        if self.connection is not None:
            self.connection.close()
        try:
            self.connection = connect(uri, **options)
        except ValueError as exc:
            raise UsageError(f"%quiver connect: {exc}") from None
        return self.connection

    def _conn(self) -> Connection:
        if self.connection is None or self.connection.closed:
            self.connection = connect()
        return self.connection

    def _run(self, sql: str, out: str | None, fmt: str) -> Any:
        if not sql.strip():
            raise UsageError("%%quiver: the cell holds no SQL")
        result = self._conn().sql(sql)
        value: Any = result
        if fmt == "pandas":
            try:
                value = result.to_pandas()
            except ImportError:
                value = result
                result.to_arrow()
        elif fmt == "polars":
            value = result.to_polars()
        elif fmt == "arrow":
            value = result.to_arrow()
        else:
            result.to_arrow()
        if out:
            if not out.isidentifier():
                raise UsageError(f"%%quiver -o {out}: not a valid variable name")
            if self.shell is not None:
                self.shell.user_ns[out] = value
        return value


def _show_error(shell: Any, etype: type[BaseException], value: BaseException, tb: Any, tb_offset: Any = None) -> None:
    # A failed query is not a bug in the notebook: show the error and the
    # server's message (still as an error output), not a traceback.
    shell.showtraceback((etype, value, tb), exception_only=True)


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics (``%load_ext quiver``) and short error reports for failed queries."""
    ipython.register_magics(QuiverMagics)
    ipython.set_custom_exc((Error,), _show_error)
