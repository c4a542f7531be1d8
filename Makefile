# Atelier — `make run` starts everything with the demo shop, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help setup run test bench lint model eval-search eval-nlu eval-faq eval-forecast eval-recs

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-8s\033[0m %s\n", $$1, $$2}'

setup: ## Create both virtual environments, install Chromium and Firefox, train the Rasa model
	@bash scripts/setup.sh all browser

run: ## Set up if needed and start Rasa, the action server and the app with the demo shop
	@bash scripts/run.sh

test: ## Set up if needed and run the whole test suite (exit code is the verdict)
	@bash scripts/test.sh $(ARGS)

bench: ## Run the benchmarks and write benchmarks/report/REPORT.md (make bench ARGS=fullstack: only those named)
	@bash scripts/bench.sh $(ARGS)

lint: ## ruff on the Python packages and rasa data validate on the bot
	@bash scripts/lint.sh

model: ## Train the Rasa model if bot/ or nlu_data/ changed
	@bash scripts/setup.sh model

eval-search: ## Score product search: make eval-search PRODUCTS=… QUERIES=… LABELS=… OUT=… (default: demo set)
	@bash scripts/eval_search.sh "$(PRODUCTS)" "$(QUERIES)" "$(LABELS)" "$(OUT)" -- $(ARGS)

eval-nlu: ## Score the NLU model on realistic messages: make eval-nlu SET=… MODEL=… OUT=… (default: bot/nlu_eval/realistic.yml, the trained model)
	@bash scripts/eval_nlu.sh "$(SET)" "$(MODEL)" "$(OUT)" -- $(ARGS)

eval-faq: ## Score the FAQ per half: make eval-faq DIR=… PARAPHRASES=… OUT_OF_SCOPE=… ARGS=--tune (default: demo and bike FAQs)
	@bash scripts/eval_faq.sh "$(DIR)" "$(PARAPHRASES)" "$(OUT_OF_SCOPE)" -- $(ARGS)

eval-forecast: ## Backtest demand forecasts: make eval-forecast SALES=… OUT=… HORIZON=8 INTERVAL=0.8 (default: generated sales of a small maker)
	@bash scripts/eval_forecast.sh "$(SALES)" "$(OUT)" "$(HORIZON)" "$(INTERVAL)" -- $(ARGS)

eval-recs: ## Score recommendations: make eval-recs PRODUCTS=… TRAIN=… QUERIES=… OUT=… ANSWERS=… (default: Ta Feng baskets)
	@bash scripts/eval_recs.sh "$(PRODUCTS)" "$(TRAIN)" "$(QUERIES)" "$(OUT)" "$(ANSWERS)" -- $(ARGS)
