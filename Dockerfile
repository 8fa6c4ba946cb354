# syntax=docker/dockerfile:1
# Build: docker build -t certbroker .
# API:    docker run -e CERTBROKER_ENV=production -e CERTBROKER_DATABASE_URL=... certbroker
# Worker: docker run ... certbroker certbroker worker      Migrate: ... certbroker certbroker migrate
FROM python:3.11-slim-bookworm AS build
RUN pip install --no-cache-dir uv
# The same paths in both stages: the project is installed editable from /srv/app, where
# alembic.ini and the migrations also live.
WORKDIR /srv/app
ENV UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 UV_PROJECT_ENVIRONMENT=/opt/venv
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY app ./app
COPY alembic ./alembic
COPY alembic.ini ./
RUN uv sync --frozen --no-dev

FROM python:3.11-slim-bookworm AS runtime
RUN useradd --system --uid 10001 --home-dir /srv --shell /usr/sbin/nologin certbroker
COPY --from=build /opt/venv /opt/venv
COPY --from=build /srv/app /srv/app
WORKDIR /srv/app
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 CERTBROKER_ENV=production
USER certbroker
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["certbroker", "serve", "--host", "0.0.0.0", "--port", "8000"]
