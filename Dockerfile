# One image for the console, its Celery worker and beat, and the mail daemons it manages (Debian 12, as the
# machines mailadmin is developed and tested on). docker-compose.yml runs one process per container.
FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /srv/mailadmin
COPY scripts/install-debs.sh scripts/install-debs.sh
RUN apt-get update -q && apt-get install -y -q --no-install-recommends sudo ca-certificates make \
    && ./scripts/install-debs.sh && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY . .
RUN python3 -m venv /srv/venv && /srv/venv/bin/pip install --no-cache-dir . \
    && make messages && /srv/venv/bin/python manage.py collectstatic --noinput -v0
ENV PATH=/srv/venv/bin:$PATH MAILADMIN_VAR_DIR=/var/lib/mailadmin
EXPOSE 8000
CMD ["gunicorn", "mailadmin.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
