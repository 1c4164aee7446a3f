# Quorum: one image for the web process (gunicorn), Celery workers and Celery beat.
#   docker build -t quorum .
# The command decides the role: the default runs the web server; docker-compose.yml runs
# `celery -A quorum worker` and `celery -A quorum beat` from the same image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 quorum \
    && useradd --system --uid 10001 --gid quorum --home-dir /app --shell /usr/sbin/nologin quorum

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

# The code stays owned by root (read-only for the app user); only var/ is writable.
COPY . .

# Static files are collected at build time, with the production (manifest) storage.
# This SECRET_KEY (and encryption key) exists only for this one command: it is not in the image's environment,
# and the settings refuse to start a production container without a real one.
RUN QUORUM_ENV=production \
    SECRET_KEY=build-only-collectstatic-not-a-secret \
    QUORUM_ENCRYPTION_KEY=YnVpbGQtb25seS1jb2xsZWN0c3RhdGljLW5vdC1rZXk= \
    ALLOWED_HOSTS=localhost \
    QUORUM_VAR_DIR=/tmp/build-var \
    DATABASE_URL=sqlite:////tmp/build-var/build.sqlite3 \
    python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-var \
    && mkdir -p /app/var \
    && chown quorum:quorum /app/var

ENV QUORUM_ENV=production \
    QUORUM_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles

USER quorum
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "quorum.healthcheck"]

CMD ["gunicorn", "-c", "quorum/gunicorn.conf.py"]
