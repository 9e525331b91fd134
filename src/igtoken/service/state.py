"""The former name of :mod:`igtoken.service.app_state`, kept only while four routes (api, connect,
dashboard, meta_webhooks; being changed elsewhere) still import it from here. Import from
:mod:`igtoken.service.app_state`."""

from igtoken.service.app_state import ServiceState, service_state

__all__ = ["ServiceState", "service_state"]
