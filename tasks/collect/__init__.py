"""The endpoint collector: finds Roo Code's storage on a machine and ships it to raw/roo/<user>/.

Imports nothing from Prefect, Great Expectations, pandas or pyarrow (tests/collect asserts
it), so it installs and runs with `pip install compliance-jobs[collect]`.
"""
