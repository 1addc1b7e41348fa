"""The games' tasks, one module per kind of game: policy (the policy-value task they share), board (tic-tac-toe,
Connect Four), chess, go, atari."""
