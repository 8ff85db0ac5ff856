# The image every launched service of docker-compose.yml runs (the sample shop's code).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY harness ./harness
COPY sample_app ./sample_app
RUN pip install --no-cache-dir .
ENV PYTHONUNBUFFERED=1 OTEL_PYTHON_LOG_AUTO_INSTRUMENTATION=false
# no entrypoint: each service's command is the whole argv the topology gives (harness compose)
