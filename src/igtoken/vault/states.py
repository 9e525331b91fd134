"""The former name of :mod:`igtoken.vault.oauth_states`, kept only while ``vault/_store.py`` (being
changed elsewhere) still imports it from here. Import from :mod:`igtoken.vault.oauth_states`."""

from igtoken.vault.oauth_states import OAuthStates

__all__ = ["OAuthStates"]
