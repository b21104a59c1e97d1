"""Interoperability with the tools analysts use: Primavera P6 (XER), MS Project (MSPDI XML), Excel.

``sim import`` (schedule -> params directory), ``sim export`` (run -> annotated schedule),
``sim template`` (Excel plan template, monthly progress workbook). See docs/interop.md.
"""
