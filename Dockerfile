# crisiswatch: one image for every role (crisiswatch run --role crawl|process|dispatch|all)
# and the console (crisiswatch web). compose.yaml starts one of each over PostgreSQL.
# The config is mounted at /etc/crisiswatch/crisiswatch.yaml; the database URL comes
# from CRISISWATCH_DATABASE so its password stays out of the file.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/crisiswatch \
        --shell /usr/sbin/nologin crisiswatch

COPY . /src
# the same install the tests run (pip install -e '.[test]'), without the test tools
RUN pip install "/src[postgres]" && rm -rf /src

USER crisiswatch
WORKDIR /var/lib/crisiswatch

# 9464: /metrics, /healthz, /readyz of a run role; 8080: the console (crisiswatch web)
EXPOSE 9464 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4)"]

ENTRYPOINT ["crisiswatch"]
CMD ["run", "--role", "all", "--config", "/etc/crisiswatch/crisiswatch.yaml", "--metrics-port", "9464"]
