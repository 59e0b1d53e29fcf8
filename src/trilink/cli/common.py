"""Options and helpers shared by the CLI commands.

Imported by every command module when ``trilink --help`` runs, so it imports nothing heavy:
trilink's engines, stores and clients are imported inside the functions that use them.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

import typer
from rich.console import Console

from trilink.errors import ConfigError, InputError

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn

    from trilink.client import NodeClient

# Piped output is a program's input: never cut, wrapped or padded to a terminal's width.
PIPE_WIDTH = 100_000


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    if hasattr(stream, "isatty") and stream.isatty():
        return Console(stderr=stderr, soft_wrap=True)
    # Fixed now: rich would read COLUMNS again at each print and fall back to 80 columns.
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH
    return Console(stderr=stderr, soft_wrap=True, width=width)


console = _console()
err_console = _console(stderr=True)

DirOption = typer.Option(
    Path("demo-net"),
    "--dir",
    help="Network directory made by 'trilink net up'.",
    file_okay=False,
)
NationOption = typer.Option(..., "--nation", help="Which nation's node: USA, JPN or KOR.")
DbOption = typer.Option(
    None,
    "--db",
    help="Use this database instead of the node's configured one "
    "(a SQLite path or postgresql://host/db?schema=name).",
)
JsonOption = typer.Option(False, "--json", help="Print one JSON document instead of a table.")

STDIO = "-"


def nation_code(text: str) -> str:
    """A nation's code as typed (any case); which nations exist is the network's business
    (its directories and node.toml files), not this function's."""
    from trilink.model.label import ALLIANCE, NATION_CODE

    code = text.strip().upper()
    if not NATION_CODE.match(code):
        raise ConfigError(
            f"{text[:20]!r} is not a nation code: use an ISO 3166-1 alpha-3 code such as "
            f"{', '.join(ALLIANCE)}"
        )
    return code


def node_dir(root: Path, nation: str) -> Path:
    """NATION's node directory in the network directory ``root``."""
    from trilink.federation import localnet

    return localnet.node_dir(root, nation)


def client_for(root: Path, nation: str) -> NodeClient:
    """The node API client of NATION's node in a network directory (see
    ``trilink.federation.localnet.client_for``)."""
    from trilink.federation import localnet

    return localnet.client_for(root, nation_code(nation))


def progress(*columns: str | ProgressColumn) -> Progress:
    """A rich progress bar for a long run: on stderr, and only when stderr is a terminal
    (a script that pipes or redirects the output gets none of it)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    cols = columns or (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    return Progress(
        *cols, console=err_console, transient=True, disable=not err_console.is_terminal
    )


@contextmanager
def working(text: str) -> Iterator[None]:
    """A spinner with ``text`` on stderr while a long step without a count runs, only when
    stderr is a terminal."""
    if not err_console.is_terminal:
        yield
        return
    with err_console.status(text):
        yield


def is_stdio(path: Path | str | None) -> bool:
    return path is not None and str(path) == STDIO


@contextmanager
def output_file(path: Path | str) -> Iterator[IO[bytes]]:
    """Write ``path`` atomically (a temporary file beside it, renamed over it only once the
    block ends without an error: a failed run leaves no half-written file and the old one
    intact), or standard output for ``-``."""
    if is_stdio(path):
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    if not target.parent.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_output(path: Path | str, data: bytes | str) -> None:
    """All of ``data`` to ``path`` atomically, or to standard output for ``-``."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with output_file(path) as fh:
        fh.write(raw)


MAX_STDIN = 4 * 1024**3


@contextmanager
def input_path(path: Path | str, *, suffix: str = "", what: str = "input") -> Iterator[Path]:
    """A real file to read: ``path`` itself, or for ``-`` standard input copied to a
    temporary file (removed afterwards) named ``stdin<suffix>``, so the command reads it as
    it reads any file. An empty standard input is an error naming the option."""
    if not is_stdio(path):
        if not Path(path).exists():
            raise InputError(f"{what}: file not found", path=str(path))
        yield Path(path)
        return
    if sys.stdin is None or sys.stdin.isatty():
        raise InputError(f"{what} '-' means standard input, but nothing is piped in")
    with tempfile.TemporaryDirectory(prefix="trilink-stdin-") as tmp:
        spooled = Path(tmp) / f"stdin{suffix}"
        size = 0
        with spooled.open("wb") as fh:
            while chunk := sys.stdin.buffer.read(1 << 20):
                size += len(chunk)
                if size > MAX_STDIN:
                    raise InputError(
                        f"{what} from standard input is larger than {MAX_STDIN} bytes"
                    )
                fh.write(chunk)
        if size == 0:
            raise InputError(f"{what} '-': standard input is empty")
        yield spooled


def read_input_bytes(path: Path | str, limit: int, *, what: str = "input") -> bytes:
    """The bytes of ``path`` (at most ``limit``), or of standard input for ``-``."""
    try:
        if is_stdio(path):
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with Path(path).open("rb") as fh:
                data = fh.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"{what} not found", path=str(path)) from None
    except OSError as err:
        raise InputError(f"cannot read {what}: {err.strerror}", path=str(path)) from None
    if len(data) > limit:
        raise InputError(f"{what} is larger than {limit} bytes", path=str(path))
    return data
