"""CRM webhooks: signed POSTs of hint events, retried with exponential backoff."""

from rapport.server.webhooks.dispatch import (
    SIGNATURE_HEADER,
    SIGNATURE_TOLERANCE,
    WebhookDispatcher,
    enqueue_events,
    enqueue_hot_leads,
    new_secret,
    sign,
    verify,
)

__all__ = [
    "SIGNATURE_HEADER",
    "SIGNATURE_TOLERANCE",
    "WebhookDispatcher",
    "enqueue_events",
    "enqueue_hot_leads",
    "new_secret",
    "sign",
    "verify",
]
