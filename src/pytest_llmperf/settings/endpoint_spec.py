"""How a served model is named: `SERVED_MODEL@BASE_URL`, or `BASE_URL` alone.

    --llm-candidate=meta-llama/Llama-3.1-8B-Instruct@http://staging:8000/v1
    --llm-baseline=http://prod:8000/v1          # the server's only model, asked at /v1/models

The base URL is what OpenAI clients take (it ends in /v1; a URL with no path gets /v1).
Plain Python, no HTTP: parsed at configure time, before anything is contacted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pytest_llmperf.errors import ConfigError
from pytest_llmperf.redaction import add_secret

# The served name ends where the last "@http://" or "@https://" begins: names may hold '@'.
_WITH_NAME = re.compile(r"^(?P<name>.+)@(?P<url>https?://.+)$")


@dataclass(frozen=True)
class EndpointSpec:
    """An OpenAI-compatible server and the model to ask it for (None: its only one)."""

    base_url: str
    served_model: str | None

    @property
    def host(self) -> str:
        """host:port, what tells one deployment from another in a snapshot."""
        parts = urlsplit(self.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{parts.hostname}:{port}"

    @property
    def display(self) -> str:
        model = self.served_model or "(its only model)"
        return f"{model}@{self.base_url}"


def is_endpoint(name: str) -> bool:
    return name.startswith(("http://", "https://")) or bool(_WITH_NAME.match(name))


def parse_endpoint(name: str, *, where: str) -> EndpointSpec | None:
    """The endpoint `name` names, None when it names a checkpoint; ConfigError when malformed.

    A message never echoes the URL's credentials, query or fragment: keys travel there."""
    if not is_endpoint(name):
        return None
    match = _WITH_NAME.match(name)
    served, url = (match["name"].strip(), match["url"]) if match else (None, name)
    parts = urlsplit(url)
    host_port = parts.netloc.rpartition("@")[2]
    shown_url = urlunsplit((parts.scheme, host_port, parts.path, "", ""))
    shown = f"{where}={served}@{shown_url}" if served else f"{where}={shown_url}"
    if parts.username or parts.password or parts.query or parts.fragment:
        for secret in (parts.password, parts.username, *_query_values(parts.query, parts.fragment)):
            add_secret(secret)
    if not parts.hostname:
        raise ConfigError(f"{shown}: the URL has no host. Write MODEL@http://HOST:PORT/v1.")
    if parts.username or parts.password:
        raise ConfigError(
            f"{where}: the URL carries credentials (not shown); they would end up in snapshots "
            "and logs. Remove them from the URL and name the environment variable that holds "
            "the key with api_key_env in [tool.llmperf] (or --llm-api-key-env)."
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            f"{shown}: the base URL must not have a query or fragment (not shown: it may hold "
            "a key); give it as an OpenAI client takes it, e.g. http://HOST:8000/v1, and name "
            "the variable holding a key with api_key_env."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"{shown}: the port is not a number.") from None
    path = parts.path.rstrip("/") or "/v1"
    base_url = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    return EndpointSpec(base_url=base_url, served_model=served or None)


def _query_values(*texts: str) -> list[str]:
    """Every value in a query or fragment, and each whole, as secrets to mask."""
    values = [text for text in texts if text]
    for text in texts:
        values.extend(value for _, value in parse_qsl(text, keep_blank_values=False))
    return values
