"""Where and how work runs: local process pools and Dask, torchrun process groups, the
allocator's settings for long scoring runs, and a time limit per song."""
