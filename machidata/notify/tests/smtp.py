"""A real SMTP server for the e-mail tests (aiosmtpd on 127.0.0.1, a free port): one that accepts and one that refuses."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the server received (parsed messages), and whether it refuses every recipient."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: bool = False

    async def handle_RCPT(  # noqa: N802 (aiosmtpd calls the hooks by these names)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if self.refuse:
            return "550 5.7.1 配送を拒否します（テスト）"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def bodies(self) -> list[str]:
        return [str(m.get_body(("plain",)).get_content()) for m in self.messages]  # type: ignore[union-attr]


@pytest.fixture
def smtp(settings: Any) -> Iterator[Mailbox]:
    """A local SMTP server, with machidata's e-mail pointed at it (SMTP backend, notices e-mailed)."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.MACHIDATA_NOTIFY_EMAIL = True
    settings.MACHIDATA_SITE_URL = "https://data.example.lg.jp"
    try:
        yield box
    finally:
        controller.stop()
