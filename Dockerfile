# syntax=docker/dockerfile:1
# Racine's production image: wheels built in one stage, a slim non-root runtime in the other.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /opt/venv && /opt/venv/bin/pip install -r /tmp/requirements.txt

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DEBUG=false \
    RACINE_VAR_DIR=/var/lib/racine \
    RACINE_STATIC_ROOT=/app/staticfiles
RUN groupadd --system racine && useradd --system --gid racine --home-dir /app --shell /usr/sbin/nologin racine \
    && mkdir -p /var/lib/racine && chown racine:racine /var/lib/racine
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=racine:racine . /app
# collectstatic needs settings but no database, broker or real secret: throw-away keys for this step only.
RUN SECRET_KEY=collectstatic-only-$(python -c 'import secrets; print(secrets.token_urlsafe(50))') \
    RACINE_ENCRYPTION_KEYS=$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
    ALLOWED_HOSTS=build DATABASE_URL=postgres://build/build \
    python manage.py collectstatic --no-input --verbosity 0
USER racine
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=4).status != 200)"
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", \
     "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-"]
