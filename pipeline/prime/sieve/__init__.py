"""The compiled segmented sieve (numba) and its summaries: plain functions, no Dask."""
