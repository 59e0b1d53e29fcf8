"""trilink: each nation's node turns raw data into signed, labelled reports and shares them
with partners under a release policy that nation controls."""

__version__ = "0.1.0"
