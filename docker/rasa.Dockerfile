# The Python 3.10 runtime of Rasa Open Source 3.6, with the model trained at build time.
FROM python:3.10-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 RASA_TELEMETRY_ENABLED=false \
    PYTHONPATH=/srv/bot
WORKDIR /srv/bot
COPY requirements/rasa.txt requirements/rasa310.lock /tmp/requirements/
RUN pip install -r /tmp/requirements/rasa.txt -c /tmp/requirements/rasa310.lock
COPY bot/ /srv/bot/
COPY nlu_data/ /srv/nlu_data/
RUN rasa train --data data ../nlu_data --config config.yml --domain domain \
      --out models --fixed-model-name atelier
RUN useradd --system --home /srv/bot rasa && chown -R rasa /srv/bot
USER rasa
EXPOSE 5005
CMD ["run", "--enable-api", "--port", "5005", "--model", "models/atelier.tar.gz", \
     "--endpoints", "endpoints.compose.yml", "--credentials", "credentials.yml"]
ENTRYPOINT ["rasa"]
