"""HTTP clients of the components the harness drives (Prometheus, Toxiproxy), each taking
an injected httpx client and bounding every call with a timeout."""
