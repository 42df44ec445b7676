"""Benchmark of the free-text minimiser (issue 6): throughput of `safereport.redact.minimise`
beside, in the same run and on the same narratives, Presidio's default `AnalyzerEngine`.

The text is built from realistic narratives: the demo's crime, intelligence, GP and council
sentences (with its sentences that reveal status), and, where it is present, the development
split of the evaluation corpus (tests/redact_corpus/dev), whose sentences carry names,
addresses, phone numbers and the rest. Each narrative is minimised on its own, as the release
path does; the whole text is also minimised as one piece.

Speed is CPU time of this process (one core: the minimiser is single-threaded), so that other
work on the machine disturbs the figures less; wall time is printed beside it.

Usage: python bench/redact.py [--mb 2.0] [--peer-kb 150] [--seed 7] [--modes sentence,mask,tag]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where bench/http.py would hide the
# standard library's http (which Presidio's imports need).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from safereport.demo import _synthetic as syn  # noqa: E402
from safereport.redact import Mode, minimise  # noqa: E402
from safereport.redact.narrative import _sentence_spans  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "redact_corpus" / "dev"
SUBJECTS = ("Amira Haddad", "Maria Silva", "Fatima Begum", "Grace Mensah", "Ioana Popescu")


def corpus_items() -> list[tuple[str, list[str]]]:
    items: list[tuple[str, list[str]]] = []
    if CORPUS.is_dir():
        for path in sorted(CORPUS.glob("*.jsonl")):
            for line in path.read_text("utf-8").splitlines():
                if line.strip():
                    item = json.loads(line)
                    items.append((item["text"], list(item.get("subject", []))))
    return items


def narratives(megabytes: float, seed: int) -> list[tuple[str, list[str]]]:
    """Narratives of three to ten sentences, about half of them holding a sentence or two from
    the corpus (identifiers, immigration information, hard negatives)."""
    rng = random.Random(seed)
    pools = (syn.CRIME_SENTENCES, syn.INTEL_SENTENCES, syn.GP_SENTENCES, syn.COUNCIL_SENTENCES)
    revealing = syn.REVEALING + syn.GP_REVEALING + syn.COUNCIL_REVEALING
    extra = corpus_items()
    out: list[tuple[str, list[str]]] = []
    size = 0
    while size < megabytes * 1_000_000:
        pool = rng.choice(pools)
        sentences = [rng.choice(pool) for _ in range(rng.randint(3, 10))]
        subject = [rng.choice(SUBJECTS)]
        if rng.random() < 0.2:
            sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(revealing))
        if extra and rng.random() < 0.5:
            for _ in range(rng.randint(1, 2)):
                text, names = rng.choice(extra)
                sentences.insert(rng.randrange(len(sentences) + 1), text)
                subject = names or subject
        narrative = " ".join(sentences)
        out.append((narrative, subject))
        size += len(narrative.encode("utf-8"))
    return out


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return time.process_time() - cpu, time.perf_counter() - wall


def rate_row(label: str, megabytes: float, sentences: int, cpu: float, wall: float) -> str:
    return (
        f"  {label:<44} {megabytes / cpu:8.2f} MB/s {sentences / cpu:10,.0f} sentences/s"
        f"   (wall {megabytes / wall:6.2f} MB/s)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=2.0, help="size of the text minimised (default 2.0 MB)")
    parser.add_argument("--peer-kb", type=float, default=150.0, help="slice given to Presidio's engines (KB)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--modes", default="sentence,mask,tag")
    args = parser.parse_args(argv)

    items = narratives(args.mb, args.seed)
    texts = [text for text, _ in items]
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1_000_000
    sentences = sum(len(_sentence_spans(t)) for t in texts)
    whole = "\n\n".join(texts)
    print(f"redact benchmark: {len(texts):,} narratives, {megabytes:.2f} MB, {sentences:,} sentences")
    print(f"python {platform.python_version()} on {platform.machine()}, one core (single-threaded)")

    _, import_wall = timed(lambda: minimise("Warm-up: Tom called 07700 900123.", mode=Mode.MASK))
    print(f"  first call (imports Presidio and spaCy, builds the recognisers): {import_wall:.2f} s wall")
    print()
    print("safereport minimise, each narrative on its own (the release path):")
    for name in args.modes.split(","):
        mode = Mode(name.strip())
        cpu, wall = timed(lambda mode=mode: [minimise(t, mode=mode, subject_names=s) for t, s in items])
        print(rate_row(f"mode {mode.value}", megabytes, sentences, cpu, wall))
    cpu, wall = timed(lambda: minimise(whole))
    print(rate_row("mode sentence, the whole text as one", megabytes, sentences, cpu, wall))

    from safereport.redact.engine import build_analyzer, default_analyzer

    peer_items: list[str] = []
    size = 0
    for text in texts:
        if size >= args.peer_kb * 1000:
            break
        peer_items.append(text)
        size += len(text.encode("utf-8"))
    peer_mb = size / 1_000_000
    peer_sentences = sum(len(_sentence_spans(t)) for t in peer_items)
    print()
    print(
        f"Presidio AnalyzerEngine on the first {peer_mb * 1000:.0f} KB of the same narratives (blank spaCy):"
    )
    for label, engine in (
        ("default analyzer (predefined recognisers)", default_analyzer()),
        ("our recognisers inside AnalyzerEngine", build_analyzer()),
    ):
        engine.analyze(peer_items[0], language="en")
        cpu, wall = timed(lambda engine=engine: [engine.analyze(t, language="en") for t in peer_items])
        print(rate_row(label, peer_mb, peer_sentences, cpu, wall))
    cpu, wall = timed(lambda: [minimise(t) for t in peer_items])
    print(rate_row("safereport minimise on the same slice", peer_mb, peer_sentences, cpu, wall))
    print()
    print("target: at least 1 MB/s on one core for minimise")
    return 0


if __name__ == "__main__":
    sys.exit(main())
