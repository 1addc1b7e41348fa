"""The engines that label data and play against the networks: Stockfish (UCI, through python-chess's
chess.engine) and GNU Go (GTP, a small client here). A missing binary is one line naming the Debian package;
an engine that crashes or stops answering is restarted (with a timeout on every request)."""
from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from pathlib import Path

from zoo import DataMissing, ZooError


def find_binary(name: str, package: str, env: str) -> list[str]:
    """The command that starts an engine: $env when set (a path, or a command line), else `name` on PATH or in
    /usr/games (where Debian puts game engines)."""
    override = os.environ.get(env)
    if override:
        import shlex
        cmd = shlex.split(override)
        if not (shutil.which(cmd[0]) or Path(cmd[0]).is_file()):
            raise DataMissing(f"{env}={override}: no such program")
        return cmd
    found = shutil.which(name) or (f"/usr/games/{name}" if Path(f"/usr/games/{name}").is_file() else None)
    if not found:
        raise DataMissing(f"{name} is not installed: install the Debian package {package} "
                          f"(sudo apt-get install {package}, or `make data`)")
    return [found]


def stockfish_command() -> list[str]:
    return find_binary("stockfish", "stockfish", "ZOO_STOCKFISH")


def gnugo_command() -> list[str]:
    return find_binary("gnugo", "gnugo", "ZOO_GNUGO")


def settle_exit_code(engine, after: float = 1.0) -> None:
    """python-chess (1.11) never records the exit code of an engine killed while a timed-out analysis is pending:
    its connection_lost raises on the analysis it already cancelled before setting the code, so the engine's
    background thread waits forever and the interpreter with it at exit. Record it ourselves, `after` seconds
    after closing (by then a cleanly stopped engine has recorded its own and this does nothing)."""
    protocol, loop = engine.protocol, engine.protocol.loop

    def settle() -> None:
        if not protocol.returncode.done():
            protocol.returncode.set_result(-9)

    try:
        loop.call_soon_threadsafe(loop.call_later, after, settle)
    except RuntimeError:  # the loop has already ended: nothing is waiting
        pass


class Stockfish:
    """A Stockfish process that survives its own crashes and hangs: every request has a timeout, and after a crash
    or a timeout the process is started again and the request retried (`retries` times)."""

    def __init__(self, options: dict | None = None, timeout: float = 30.0, retries: int = 2):
        self.command = stockfish_command()
        self.options = {"Threads": 1, "Hash": 16, **(options or {})}
        self.timeout, self.retries = timeout, retries
        self.engine = None
        self.restarts = 0

    def _start(self):
        import chess.engine

        try:
            self.engine = chess.engine.SimpleEngine.popen_uci(self.command, timeout=self.timeout)
            known = {k: v for k, v in self.options.items() if k in self.engine.options}
            self.engine.configure(known)
        except (chess.engine.EngineError, chess.engine.EngineTerminatedError, OSError, TimeoutError) as exc:
            self.close()
            raise ZooError(f"{' '.join(self.command)}: the engine did not start as a UCI engine ({exc or type(exc).__name__})") from None
        return self.engine

    def close(self) -> None:
        if self.engine is not None:
            try:
                self.engine.close()
                settle_exit_code(self.engine)
            except Exception:  # noqa: BLE001 - a dead engine may fail to close cleanly; it is gone either way
                pass
            self.engine = None

    def _call(self, what: str, fn):
        import chess.engine

        last = None
        for _ in range(self.retries + 1):
            engine = self.engine or self._start()
            try:
                return fn(engine)
            except (chess.engine.EngineTerminatedError, chess.engine.EngineError, TimeoutError) as exc:
                last = exc
                self.close()
                self.restarts += 1
        kind = "stopped answering" if isinstance(last, TimeoutError) else f"failed ({last})"
        raise ZooError(f"stockfish {kind} on {what} {self.retries + 1} times in a row")

    def name(self) -> str:
        """The engine's UCI name and version ("Stockfish 15.1"), starting it if need be."""
        engine = self.engine or self._start()
        return str(engine.id.get("name", "unknown engine"))

    def analyse(self, board, depth: int, new_game: bool = False) -> dict:
        """Best move, principal variation and score (centipawns or mate, from the side to move) at `depth`.
        `new_game`: send ucinewgame first (the hash and history tables cleared), so the result depends on the
        position alone, not on what the engine analysed before."""
        import chess.engine

        limit = chess.engine.Limit(depth=depth, time=self.timeout)
        info = self._call(f"position {board.fen()}",
                          lambda e: e.analyse(board, limit, game=object() if new_game else None))
        pv = info.get("pv") or []
        if not pv:
            raise ZooError(f"stockfish gave no move for {board.fen()}")
        score = info["score"].pov(board.turn)
        return {"move": pv[0].uci(), "pv": [m.uci() for m in pv], "cp": score.score(), "mate": score.mate(),
                "depth": int(info.get("depth", 0))}

    def play(self, board, limit) -> object:
        return self._call(f"position {board.fen()}", lambda e: e.play(board, limit).move)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class GTPError(ZooError):
    pass


class GnuGo:
    """GNU Go in GTP mode at a level (0-10), on a 9x9 board with `komi`. Every request waits at most `timeout`
    seconds; a crash or a hang restarts the process and replays the moves of the game so far."""

    def __init__(self, level: int = 1, size: int = 9, komi: float = 7.0, timeout: float = 30.0, seed: int = 0):
        self.command = gnugo_command()
        self.level, self.size, self.komi, self.timeout, self.seed = level, size, komi, timeout, seed
        self.proc: subprocess.Popen | None = None
        self.moves: list[tuple[str, str]] = []  # (colour, vertex) played since clear_board
        self.restarts = 0

    def _start(self) -> None:
        args = [*self.command, "--mode", "gtp", "--level", str(self.level), "--boardsize", str(self.size),
                "--komi", str(self.komi), "--chinese-rules", "--seed", str(self.seed)]
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, bufsize=0)
            self.buffer = b""
        except OSError as exc:
            raise ZooError(f"{args[0]}: cannot start ({exc})") from None
        for colour, vertex in self.moves:
            self._send(f"play {colour} {vertex}")

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.wait(timeout=2)
            except Exception:  # noqa: BLE001
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def _send(self, command: str) -> str:
        """One GTP exchange: a reply ends with an empty line. Read from the pipe without Python's buffering, so
        that select() sees every byte still to come."""
        proc = self.proc
        proc.stdin.write((command + "\n").encode())
        fd, deadline = proc.stdout.fileno(), time.monotonic() + self.timeout
        while b"\n\n" not in self.buffer.replace(b"\r", b""):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError(command)
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError(command)
            self.buffer += chunk
        text = self.buffer.replace(b"\r", b"").decode(errors="replace")
        reply, _, rest = text.partition("\n\n")
        self.buffer = rest.encode()
        reply = reply.strip()
        if reply.startswith("?"):
            raise GTPError(f"gnugo refused {command!r}: {reply[1:].strip()}")
        return reply[1:].strip()

    def send(self, command: str) -> str:
        last = None
        for _ in range(3):
            if self.proc is None:
                self._start()
            try:
                return self._send(command)
            except (TimeoutError, EOFError, BrokenPipeError, OSError) as exc:
                last = exc
                if self.proc is not None:
                    self.proc.kill()
                    self.proc.wait()
                    self.proc = None
                self.restarts += 1
        raise ZooError(f"gnugo {'stopped answering' if isinstance(last, TimeoutError) else 'crashed'} on "
                       f"{command!r} 3 times in a row")

    def clear(self) -> None:
        self.moves = []
        self.send("clear_board")

    def play(self, colour: str, vertex: str) -> None:
        self.send(f"play {colour} {vertex}")
        self.moves.append((colour, vertex))

    def genmove(self, colour: str) -> str:
        vertex = self.send(f"genmove {colour}").upper()
        self.moves.append((colour, vertex))
        return vertex

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
