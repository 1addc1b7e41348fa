"""The shared trainer and what it is made of."""
