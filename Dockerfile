# The service on a slim Python base, as a non-root user, listening on 0.0.0.0:8080.
# Data (SQLite database, attachments) lives in the /data volume unless DATABASE_URL points
# elsewhere. `docker run IMAGE --demo` loads the demo organisation.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CONTACTCENTER_HOST=0.0.0.0 \
    CONTACTCENTER_PORT=8080 \
    CONTACTCENTER_DATA_DIR=/data

RUN useradd --create-home --uid 10001 contactcenter \
    && mkdir /data && chown contactcenter:contactcenter /data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY contactcenter ./contactcenter
COPY routing ./routing
COPY knowledge_base ./knowledge_base
COPY workflows ./workflows
# --build-arg SEMANTIC=true adds semantic article search (the CPU build of torch, ~1 GB image).
ARG SEMANTIC=false
RUN if [ "$SEMANTIC" = "true" ]; then \
        pip install torch --index-url https://download.pytorch.org/whl/cpu \
        && pip install '.[semantic]'; \
    else pip install .; fi \
    && rm -rf /src

USER contactcenter
WORKDIR /data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=3)"
STOPSIGNAL SIGTERM
ENTRYPOINT ["contactcenter", "serve"]
