"""zoo-games: self-play board games (tic-tac-toe, Connect Four), chess distilled from Stockfish, Go from GNU Go,
Atari Pong from pixels."""
