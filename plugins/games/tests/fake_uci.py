"""A stand-in UCI engine for the tests: answers `go` with the first legal move (by python-chess), and can crash
or hang on purpose. FAKE_LOG: a file that gets one line per `go`; FAKE_CRASH_AT / FAKE_HANG_AT: the number of
the `go` (counted over every process, through FAKE_LOG) at which it exits or stops answering."""
import os
import sys
import time

import chess

log = os.environ.get("FAKE_LOG")
board = chess.Board()


def goes() -> int:
    return sum(1 for _ in open(log)) if log and os.path.exists(log) else 0


for line in sys.stdin:
    tokens = line.split()
    if not tokens:
        continue
    cmd = tokens[0]
    if cmd == "uci":
        print("id name fake\noption name Threads type spin default 1 min 1 max 8\nuciok", flush=True)
    elif cmd == "isready":
        print("readyok", flush=True)
    elif cmd == "position":
        if tokens[1] == "startpos":
            board, rest = chess.Board(), tokens[2:]
        else:
            end = tokens.index("moves") if "moves" in tokens else len(tokens)
            board, rest = chess.Board(" ".join(tokens[2:end])), tokens[end:]
        for move in rest[1:]:
            board.push_uci(move)
    elif cmd == "go":
        n = goes() + 1
        if log:
            with open(log, "a") as fh:
                fh.write(board.fen() + "\n")
        if n == int(os.environ.get("FAKE_CRASH_AT", 0)):
            os._exit(3)
        if n == int(os.environ.get("FAKE_HANG_AT", 0)):
            time.sleep(3600)
        move = next(iter(board.legal_moves))
        print(f"info depth 1 score cp 12 pv {move.uci()}\nbestmove {move.uci()}", flush=True)
    elif cmd == "quit":
        break
