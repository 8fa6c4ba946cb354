"""The webhook receiver and policy, shared with tests/webhooks."""

from tests.webhooks.conftest import receiver, webhook_policy

__all__ = ["receiver", "webhook_policy"]
