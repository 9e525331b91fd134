"""The service's routers, one module per audience (probes, Meta, the dashboard)."""
