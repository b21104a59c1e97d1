"""Short text views of a finished run for the terminal."""

from __future__ import annotations

from pathlib import Path


from sim.results import read_manifest, read_table


def headline_lines(run_dir: Path, *, section: str = "headline") -> list[str]:
    """The headline targets of a run as aligned text lines: P(met) ± standard error."""
    targets = read_table(Path(run_dir), "targets.csv")
    man = read_manifest(run_dir)
    sel = targets[targets["section"] == section]
    if sel.empty:
        sel = targets
    idw = max([6, *(len(str(i)) for i in sel["id"])])  # the widest id keeps the columns aligned
    lines = [
        f"{man['scenario']}: {man['replications']} replications, seed {man['seed']}, "
        f"as of {man['as_of']} ({man['engine']} engine, {man['executor']} x{man['workers']})",
        f"{'target':<{idw}} {'deadline':<10}  {'P(met)':>7} {'± s.e.':>7}  name",
    ]
    for r in sel.itertuples():
        lines.append(
            f"{r.id:<{idw}} {str(r.deadline):<10}  {r.p_met:7.1%} {r.se:7.1%}  {r.name_en} / {r.name_zh}"
        )
    return lines
