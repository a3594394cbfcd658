"""Small language-model members: a char-level corpus, a tiny GPT-style decoder, training of
K members on a vmap axis, and held-out perplexity of members and their ensembles.

    corpus = load_corpus()                      # the running Python's stdlib, split by file
    state = init_members(keys, decoder_config, train_config)
    state, losses = train_members(state, streams, lrs, dropouts, decoder_config, train_config)
    members, ensembles = mean_log_likelihoods([MemberGroup(decoder_config, state.params)],
                                              eval_windows(corpus.stream("test"), T), weights)

Imports of marlax: models, ensembles, validate, errors.
"""

from marlax.language.corpus import (
    ALPHABET,
    UNKNOWN,
    VOCAB_SIZE,
    Corpus,
    bootstrap_stream,
    decode,
    encode,
    load_corpus,
    split_of,
    stdlib_documents,
)
from marlax.language.evaluation import (
    MemberGroup,
    eval_windows,
    log_likelihood_sums,
    mean_log_likelihoods,
    member_log_probs,
    perplexity,
)
from marlax.language.model import CausalDecoder, DecoderConfig, dropout, token_log_likelihood
from marlax.language.training import (
    MembersState,
    TrainConfig,
    init_members,
    lr_schedule,
    sample_windows,
    train_members,
    update,
    window_loss,
)

__all__ = [
    "ALPHABET",
    "UNKNOWN",
    "VOCAB_SIZE",
    "CausalDecoder",
    "Corpus",
    "DecoderConfig",
    "MemberGroup",
    "MembersState",
    "TrainConfig",
    "bootstrap_stream",
    "decode",
    "dropout",
    "encode",
    "eval_windows",
    "init_members",
    "load_corpus",
    "log_likelihood_sums",
    "lr_schedule",
    "mean_log_likelihoods",
    "member_log_probs",
    "perplexity",
    "sample_windows",
    "split_of",
    "stdlib_documents",
    "token_log_likelihood",
    "train_members",
    "update",
    "window_loss",
]
