# The sample shop's image for docker-compose.yml (one image, every service).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY harness ./harness
COPY sample_app ./sample_app
RUN pip install --no-cache-dir .
ENV PYTHONUNBUFFERED=1 OTEL_PYTHON_LOG_AUTO_INSTRUMENTATION=false
ENTRYPOINT ["python", "-m", "sample_app"]
