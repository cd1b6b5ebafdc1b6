# The project image: the `payouts` CLI with every dependency. Used by docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY activities ./activities
COPY workflows ./workflows
COPY starter ./starter
COPY sandbox ./sandbox
RUN pip install --no-cache-dir .
ENTRYPOINT ["payouts"]
