"""Convert: parsed log lines -> a Parquet dataset (``python cli.py convert``).

The same inputs, formats, filters and malformed-line accounting as ingest, but instead of
reducing each block to counts, each block's parsed lines become typed Arrow columns
(:mod:`~pipeline.ingest.convert.columns`, in the read task of
:mod:`~pipeline.ingest.convert.tasks`) that Dask's ``to_parquet`` writes, hive-partitioned by UTC
day, into a temporary directory renamed into place at the end (:mod:`~pipeline.ingest.convert.job`).
The report: :mod:`~pipeline.ingest.convert.result`; the registration:
:mod:`~pipeline.ingest.convert.feature`.
"""
