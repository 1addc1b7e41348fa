"""zoo-robotics: robot perception and control trained by zoo."""
