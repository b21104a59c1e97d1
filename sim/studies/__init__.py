"""Studies: orchestration of runs (one run, a batch of scenarios, slips and tolerances, appraisal,
backtest, benchmarks). They call the model, the engine, the analysis and the report, and own no rule."""
