"""Delivery-risk simulator for Wenzhou's Ring-Daluo-Mountain corridor plan (2020-2022)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("daluo-sim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+src"
