"""The one composition root: settings in; the open vault, endpoints, client configs and worker wiring out.

The CLI, the service and the refresh worker all build their parts here; nothing below this layer
reads the environment or knows about the embedded defaults and sandbox mode.
"""
