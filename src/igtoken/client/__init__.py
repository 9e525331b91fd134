"""``Client`` and ``AsyncClient``: the sync and async drivers that send the sans-I/O flows, and retries."""
