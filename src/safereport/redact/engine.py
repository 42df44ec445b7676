"""Presidio's `AnalyzerEngine`, set up to need nothing from the network.

* The NLP engine is a tokenizer-only `spacy.blank("en")` pipeline: no model to download.
* tldextract (used by Presidio's email and URL recognisers) reads its bundled snapshot of the
  public suffix list and never fetches one or writes a cache: `use_bundled_suffix_list`
  replaces its module-level extractor before any recogniser is built.

`build_analyzer` is our recognisers inside the full engine (the minimiser calls the same
recognisers directly, see `analysis.py`); `default_analyzer` is Presidio's predefined
recognisers on the same NLP engine, the peer `bench/redact.py` measures against.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import spacy
import tldextract
import tldextract.tldextract
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

from safereport.redact.recognisers import our_recognisers

__all__ = ["BlankSpacyNlpEngine", "build_analyzer", "default_analyzer", "use_bundled_suffix_list"]


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """A spaCy NLP engine on `spacy.blank("en")`: tokens only, no model, no download."""

    def __init__(self) -> None:
        super().__init__(
            models=[{"lang_code": "en", "model_name": "blank"}],
            ner_model_configuration=NerModelConfiguration(),
        )

    def load(self) -> None:
        blank: Any = {"en": spacy.blank("en")}
        self.nlp = blank


@cache
def use_bundled_suffix_list() -> None:
    """Make tldextract use its bundled public suffix list: no HTTP request, no cache file."""
    offline = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)
    tldextract.tldextract.TLD_EXTRACTOR = offline


def _engine(registry: RecognizerRegistry, nlp_engine: BlankSpacyNlpEngine) -> Any:
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])


def _blank() -> BlankSpacyNlpEngine:
    engine = BlankSpacyNlpEngine()
    engine.load()
    return engine


def build_analyzer() -> Any:
    """An `AnalyzerEngine` holding our recognisers only."""
    use_bundled_suffix_list()
    registry = RecognizerRegistry(recognizers=our_recognisers(), supported_languages=["en"])
    return _engine(registry, _blank())


def default_analyzer() -> Any:
    """An `AnalyzerEngine` with Presidio's predefined recognisers (the ones that need no NER
    model) on the blank spaCy pipeline."""
    use_bundled_suffix_list()
    nlp_engine = _blank()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
    return _engine(registry, nlp_engine)
