"""[alerts]: notifiers and rules."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .types import Duration, Section


class EmailSettings(Section):
    host: str = Field("127.0.0.1", description="SMTP server")
    port: int = Field(25, ge=1, le=65535, description="SMTP port (25, 587 for starttls, 465 for ssl)")
    security: Literal["none", "starttls", "ssl"] = Field("none", description="none | starttls | ssl")
    username: str = Field("", description="SMTP login; the password comes from YAMORI_SMTP_PASSWORD")
    sender: str = Field("yamori@example.org", description="From: address")
    to: list[str] = Field(default_factory=list, description="recipients; empty = no email")
    timeout: Duration = Field(10.0, description="SMTP connection timeout")
    verify_tls: bool = Field(True, description="verify the server certificate")
    ca_file: str = Field("", description="CA bundle to verify the server with; empty = the system's")
    helo: str = Field("", description="name given in EHLO; empty = this host's name as the kernel has it "
                      "(no DNS lookup: a mail about a DNS outage must not wait on DNS)")


class WebhookSettings(Section):
    url: str = Field("", description="JSON POST target; empty = no webhook")
    timeout: Duration = Field(10.0, description="HTTP timeout")
    headers: dict[str, str] = Field(default_factory=dict, description="extra HTTP headers")


class RuleSettings(Section):
    """A threshold rule over a metric. Thresholds with hysteresis and a `for` duration."""

    name: str = Field(description="rule name, shown in alerts")
    metric: str = Field(description="metric name, e.g. disk_used_percent")
    labels: dict[str, str] = Field(default_factory=dict, description="only series with these labels")
    above: bool = Field(True, description="true: alert when the value rises above; false: below")
    warning: float | None = Field(None, description="WARNING threshold")
    critical: float | None = Field(None, description="CRITICAL threshold")
    hysteresis: float = Field(0.0, ge=0, description="how far back past a threshold the value must go to clear")
    for_: Duration = Field(0.0, alias="for", description="how long the condition must hold before it fires")
    advice: str = Field("", description="what to do, appended to the alert")

    @model_validator(mode="after")
    def _needs_threshold(self) -> RuleSettings:
        if self.warning is None and self.critical is None:
            raise ValueError("a rule needs a warning or a critical threshold")
        return self


class AlertsSettings(Section):
    email: EmailSettings = Field(default_factory=EmailSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    repeat: Duration = Field(4 * 3600.0, description="re-send a still-active alert this often (0 = never)")
    retry_max: Duration = Field(3600.0, description="longest wait between delivery attempts")
    retry_first: Duration = Field(5.0, description="first wait after a failed delivery; doubles up to retry_max")
    failing_after: int = Field(3, ge=1, description="failed attempts in a row before notify.failing is raised")
    flapping: int = Field(6, ge=0, description="state changes within an hour that make an alert flapping: "
                          "then it is notified at most every 15 minutes (0 = off)")
    unknown_for: Duration = Field(300.0, description="how long a probe must fail before probe.unknown fires")
    rules: list[RuleSettings] = Field(default_factory=list,
                                      description="threshold rules added to or overriding the defaults")
