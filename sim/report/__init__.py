"""Charts, HTML and Excel reports of a run directory; start at :func:`sim.report.build.write_report`."""
