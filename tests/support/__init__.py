"""Helpers shared by the test folders: emulator flows, CLI runs, PostgreSQL databases, fleet seeding."""
