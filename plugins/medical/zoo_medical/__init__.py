"""zoo-medical: chest X-ray anomaly detection (supervised and unsupervised) with MONAI networks."""
__version__ = "0.1.0"
