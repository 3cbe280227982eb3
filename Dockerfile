# syntax=docker/dockerfile:1
# The cehours service image. Two stages: "build" installs the package and its pinned runtime
# dependencies into a virtual environment; the final stage copies only that environment onto a
# clean slim base and runs as an unprivileged user. No compilers, no dev extras, no tests.
#
#   docker build -t cehours .
#   docker run --rm -e CEHOURS_DATABASE_URL=... cehours db upgrade     # migrations: a separate step
#   docker run -p 8000:8000 -e CEHOURS_DATABASE_URL=... cehours          # cehours serve
#
# compose.yaml wires this up with PostgreSQL, a one-shot migrate service and the scheduler.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/cehours
# Dependencies first, from the same pins as development, so that a code change reuses this layer.
COPY constraints.txt pyproject.toml README.md ./
COPY ledger ./ledger
COPY api ./api
COPY importers ./importers
COPY migrations ./migrations
COPY alembic.ini ./
RUN /opt/cehours/bin/pip install --no-compile -c constraints.txt . \
    && /opt/cehours/bin/python -m compileall -q /opt/cehours/lib

FROM ${PYTHON_IMAGE} AS runtime
# The printable proof renders Chinese text, so a CJK font is a runtime dependency.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk=1:20220127+repack1-1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 cehours \
    && useradd --system --uid 10001 --gid cehours --home-dir /srv/cehours --create-home \
       --shell /usr/sbin/nologin cehours
COPY --from=build /opt/cehours /opt/cehours
ENV PATH=/opt/cehours/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CEHOURS_ENV=production \
    CEHOURS_BIND=0.0.0.0:8000
WORKDIR /srv/cehours
USER 10001:10001
EXPOSE 8000
# The same probe the test suite runs outside Docker (tests/integration/production/).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["cehours", "healthcheck"]
ENTRYPOINT ["cehours"]
CMD ["serve"]
