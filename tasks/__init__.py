"""The sparks tasks for lm-eval: task YAMLs, their data (``data``), task class (``task``) and
scoring (``scoring``)."""

# The --metadata keys the sparks tasks read; every other key is lm-eval's or the model's. Kept
# here, free of lm-eval imports, for anything that checks metadata before a run (regress specs).
METADATA_KEYS: tuple[str, ...] = ("repeats", "data_dir")
