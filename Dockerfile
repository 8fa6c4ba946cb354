# syntax=docker/dockerfile:1
# Build: docker build -t certbroker .   API: docker run certbroker   Worker: ... certbroker worker
FROM python:3.11-slim-bookworm AS build
RUN pip install --no-cache-dir uv
WORKDIR /src
ENV UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 UV_PROJECT_ENVIRONMENT=/opt/venv
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY app ./app
COPY alembic ./alembic
COPY alembic.ini ./
RUN uv sync --frozen --no-dev

FROM python:3.11-slim-bookworm AS runtime
RUN useradd --system --uid 10001 --home /srv certbroker
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src /srv/app-src
WORKDIR /srv/app-src
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 CERTBROKER_ENV=production
USER certbroker
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["certbroker", "serve", "--host", "0.0.0.0", "--port", "8000"]
