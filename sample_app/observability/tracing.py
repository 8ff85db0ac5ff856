"""OpenTelemetry tracing configured only by the standard OTEL_* environment.

Spans are always real (ids for logs and exemplars); they are exported over OTLP/HTTP
only when an OTLP endpoint is configured.
"""

from __future__ import annotations

import os

import httpx
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

__all__ = ["instrument_app", "instrument_client", "make_tracer_provider"]

_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# probes and scrapes would otherwise make a root trace every half second
_DEFAULT_EXCLUDED_URLS = "/health/live,/health/ready,/metrics"


def _resource(service: str, replica: str) -> Resource:
    """Resource from the environment; our CLI values only fill what it leaves out."""
    env_attrs = os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    attrs: dict[str, str] = {}
    if not os.environ.get("OTEL_SERVICE_NAME") and f"{SERVICE_NAME}=" not in env_attrs:
        attrs[SERVICE_NAME] = service
    if f"{SERVICE_INSTANCE_ID}=" not in env_attrs:
        attrs[SERVICE_INSTANCE_ID] = replica
    return Resource.create(attrs)


def make_tracer_provider(service: str, replica: str) -> TracerProvider:
    """A provider with the env's sampler; an OTLP/HTTP exporter only if configured."""
    provider = TracerProvider(resource=_resource(service, replica))
    if any(os.environ.get(var) for var in _ENDPOINT_VARS):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def instrument_app(app: FastAPI, provider: TracerProvider) -> None:
    """Server spans for every request; `traceparent` is extracted (W3C by default)."""
    excluded = os.environ.get("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS") or os.environ.get(
        "OTEL_PYTHON_EXCLUDED_URLS", _DEFAULT_EXCLUDED_URLS
    )
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls=excluded, exclude_spans=["receive", "send"]
    )


def instrument_client(client: httpx.AsyncClient, provider: TracerProvider) -> None:
    """Client spans for calls to dependencies; injects `traceparent` downstream."""
    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider)
