"""The pure core shared by both login products: models, secrets, errors, usage, lifecycle rules.

No sockets, no clock, no environment, no disk: time is an argument, and requests are built and
answers parsed here, never sent.
"""
