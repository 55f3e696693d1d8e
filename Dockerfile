# The Scriptbox API/worker image, for machines that reach a registry.
# Build: docker build -t scriptbox:latest .

# The browser assets (GraphiQL, Swagger UI, the web page's CodeMirror and
# diff) from npm, at the versions web/package-lock.json pins, so the image
# serves them itself and its pages work offline (no CDN).
FROM node:20-bookworm-slim AS web-assets
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts --loglevel=error

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 SCRIPTBOX_DATA_DIR=/var/lib/scriptbox
RUN useradd --system --uid 10001 --home /var/lib/scriptbox --create-home scriptbox
# The folder processes share their metrics in (SCRIPTBOX_METRICS_DIR in
# docker-compose.yml): a volume mounted there starts owned by the service.
RUN install -d -o scriptbox /var/lib/scriptbox-metrics
# Debian's Node.js: `node --check`, the syntax check of JavaScript scripts on save.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY client ./client
COPY roles ./roles
COPY graphql_api ./graphql_api
COPY resolvers ./resolvers
COPY worker ./worker
COPY services ./services
COPY sandbox ./sandbox
COPY storage ./storage
COPY models ./models
COPY core ./core
RUN pip install --no-cache-dir --no-deps .
# Copy the assets into the installed package (run from / so that `python -m`
# imports the installed graphql_api, not /app's); `missing` fails the build
# if GraphiQL or the page would still need a CDN.
COPY --from=web-assets /web/node_modules /tmp/node_modules
RUN cd / && python -m graphql_api.web vendor /tmp/node_modules \
 && python -m graphql_api.web missing \
 && rm -rf /tmp/node_modules
USER scriptbox
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["scriptbox", "serve", "--host", "0.0.0.0", "--port", "8000"]
