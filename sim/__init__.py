"""Delivery-risk simulator for a multi-year action plan (the shipped params: Wenzhou's Ring-Daluo-Mountain corridor plan)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("daluo-sim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+src"
