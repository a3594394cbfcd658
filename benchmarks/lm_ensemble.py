"""Small language-model members and their ensembles: held-out perplexity.

Five character-level GPT-style decoders (`marlax.language`) are trained from scratch on the
running Python's standard library (top-level `*.py` modules, split by file into train /
validation / test; no download). The members differ in learning rate, dropout, seed, their
bootstrap resample of the training files, and one in width: the four members of width 64
train as one program on a vmap axis, the wider member alone (a second group).

The table gives validation and test perplexity of every member, of the averaged-probability
ensemble (uniform weights), and of Bayesian model averaging with weights
softmax(validation log-likelihood / temperature): at temperature 1 (the log evidence is the
sum over all validation tokens) and at temperature = number of validation tokens (weights
proportional to exp(mean log-likelihood per token)).

    python benchmarks/lm_ensemble.py --steps 300
"""

from __future__ import annotations

import argparse
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlax.ensembles.rules import bma_weights
from marlax.language import (
    VOCAB_SIZE,
    DecoderConfig,
    MemberGroup,
    TrainConfig,
    bootstrap_stream,
    eval_windows,
    init_members,
    load_corpus,
    mean_log_likelihoods,
    perplexity,
    train_members,
)


class Member(NamedTuple):
    name: str
    width: int
    learning_rate: float
    dropout: float
    seed: int


MEMBERS = (
    Member("A", 64, 6e-3, 0.0, 0),
    Member("B", 64, 4e-3, 0.1, 1),
    Member("C", 64, 8e-3, 0.05, 2),
    Member("D", 64, 5e-3, 0.0, 3),
    Member("E", 96, 5e-3, 0.1, 4),
)
"""Members of one width share a vmap axis; the list of groups is trained one after another."""


def _train_group(members: list[Member], corpus, args) -> MemberGroup:
    """Train the members of one width together; returns their group."""
    config = DecoderConfig(
        vocab_size=VOCAB_SIZE, d_model=members[0].width, context_length=args.context
    )
    train_config = TrainConfig(
        batch_size=args.batch, num_steps=args.steps, warmup_steps=args.steps // 10
    )
    streams = np.stack(
        [
            bootstrap_stream(corpus.train, args.stream, np.random.default_rng(m.seed))
            for m in members
        ]
    )
    keys = jnp.stack([jax.random.key(m.seed) for m in members])
    state = init_members(keys, config, train_config)
    state, _ = train_members(
        state,
        streams,
        [m.learning_rate for m in members],
        [m.dropout for m in members],
        config,
        train_config,
        description=f"width {members[0].width} x{len(members)}",
    )
    return MemberGroup(config, state.params)


def _print_table(member_names, ensemble_names, weight_sets, val_ll, test_ll) -> None:
    """Markdown table: members, then ensembles with their weights (in member order)."""
    (member_val, ensemble_val), (member_test, ensemble_test) = val_ll, test_ll
    print(f"| model | weights ({', '.join(member_names)}) | validation ppl | test ppl |")
    print("|---|---|---:|---:|")
    for name, valid, test in zip(member_names, member_val, member_test, strict=True):
        print(f"| member {name} | | {perplexity(valid):.3f} | {perplexity(test):.3f} |")
    rows = zip(ensemble_names, weight_sets, ensemble_val, ensemble_test, strict=True)
    for name, weights, valid, test in rows:
        shown = " ".join(f"{weight:.3f}" for weight in weights)
        print(f"| {name} | {shown} | {perplexity(valid):.3f} | {perplexity(test):.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="optimiser steps per member")
    parser.add_argument("--batch", type=int, default=32, help="windows per step")
    parser.add_argument("--context", type=int, default=64, help="T, tokens per window")
    parser.add_argument("--stream", type=int, default=1_000_000, help="tokens per member subset")
    parser.add_argument("--val-windows", type=int, default=512)
    parser.add_argument("--test-windows", type=int, default=1024)
    args = parser.parse_args()
    started = time.perf_counter()
    corpus = load_corpus()
    widths = sorted({m.width for m in MEMBERS}, reverse=True)
    groups = [_train_group([m for m in MEMBERS if m.width == w], corpus, args) for w in widths]
    order = [m for w in widths for m in MEMBERS if m.width == w]
    trained_s = time.perf_counter() - started
    val = eval_windows(corpus.stream("validation"), args.context, args.val_windows)
    test = eval_windows(corpus.stream("test"), args.context, args.test_windows)
    uniform = np.full((1, len(order)), 1.0 / len(order), np.float32)
    member_val, _ = mean_log_likelihoods(groups, val, uniform)
    num_val_tokens = val.shape[0] * args.context
    evidence = jnp.asarray(member_val * num_val_tokens, jnp.float32)
    weight_sets = np.stack(
        [uniform[0], bma_weights(evidence, 1.0), bma_weights(evidence, float(num_val_tokens))]
    )
    val_ll = mean_log_likelihoods(groups, val, weight_sets)
    test_ll = mean_log_likelihoods(groups, test, weight_sets)
    ensemble_names = ["average", "BMA, temperature 1", f"BMA, temperature {num_val_tokens}"]
    print(
        f"corpus: stdlib *.py, train/val/test files {len(corpus.train)}/{len(corpus.validation)}"
        f"/{len(corpus.test)}, train tokens {corpus.num_tokens('train')}, vocab {VOCAB_SIZE};"
        f" eval tokens val {num_val_tokens}, test {test.shape[0] * args.context}"
    )
    print(f"members (name, width, lr, dropout, seed): {[tuple(m) for m in order]}")
    print(f"steps {args.steps} x batch {args.batch} x context {args.context}; ", end="")
    print(f"train {trained_s:.0f} s, total {time.perf_counter() - started:.0f} s")
    _print_table([m.name for m in order], ensemble_names, weight_sets, val_ll, test_ll)


if __name__ == "__main__":
    main()
