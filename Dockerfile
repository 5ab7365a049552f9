FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY handlers ./handlers
COPY flows ./flows
COPY storage ./storage
RUN pip install . && rm -rf /src

# Least privilege: the service never runs as root and writes only to /data.
RUN useradd --system --create-home --uid 10001 hutong \
    && mkdir /data && chown hutong:hutong /data
USER hutong
WORKDIR /data

ENV HUTONG_DATABASE_URL=sqlite+aiosqlite:////data/hutong.db \
    HUTONG_HTTP_HOST=0.0.0.0 \
    HUTONG_HTTP_PORT=8080
EXPOSE 8080
VOLUME ["/data"]
# On the port the service listens on, should HUTONG_HTTP_PORT be changed at run time.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HUTONG_HTTP_PORT', '8080'), timeout=4)"

CMD ["hutong", "serve"]
