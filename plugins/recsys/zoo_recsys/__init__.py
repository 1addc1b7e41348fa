"""zoo-recsys: recommendation from user-item interactions."""
