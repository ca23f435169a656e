# The production image: one image for the ASGI web process and the job worker.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --create-home --uid 10001 nigrani
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# Static files (the control-room page, the admin) hashed and compressed for whitenoise. The
# settings need their required values to load; these build-only ones are never used to serve.
RUN SECRET_KEY=collectstatic-only \
    NIGRANI_ENCRYPTION_KEYS="build:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" \
    NIGRANI_BLIND_INDEX_KEY="YnVpbGQtb25seS1ibGluZC1pbmRleC1rZXktMDAwMDA=" \
    DATABASE_URL=postgres://build@127.0.0.1:1/build LOG_LEVEL=WARNING \
    python manage.py collectstatic --noinput
RUN mkdir -p /app/var/media && chown -R nigrani /app/var
USER nigrani

EXPOSE 8000
CMD ["uvicorn", "backend.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
