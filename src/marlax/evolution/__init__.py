"""Evolution of arrangements: a genetic algorithm over model cores, sizes, graphs and settings.

    spec = load_search("configs/arrangement_search_nback.json")
    folder = create_search(spec)
    result = run_search(spec, folder)        # each candidate trained briefly with PPO, scored
    result.best["genome"], result.lineage, result.generations

`marlax evolve -c configs/arrangement_search_nback.json` runs it from the command line.
Modules: `settings` (the `search` section), `genes` (genes, genomes, their overrides),
`operators` (selection, crossover, mutation), `population` (generations), `scoring` (PPO
fitness), `records` (tables and lineage), `plot`, `load` (the search config) and `search`
(the driver, storage and resume).
"""

from marlax.evolution.genes import Gene, candidate_config, candidate_overrides, read_genes
from marlax.evolution.load import SearchSpec, load_search, search_from_dict
from marlax.evolution.scoring import CandidateScore, Scorer, ppo_score, ppo_scorer
from marlax.evolution.search import SearchResult, create_search, open_search, run_search
from marlax.evolution.settings import SearchSettings

__all__ = [
    "CandidateScore",
    "Gene",
    "Scorer",
    "SearchResult",
    "SearchSettings",
    "SearchSpec",
    "candidate_config",
    "candidate_overrides",
    "create_search",
    "load_search",
    "open_search",
    "ppo_score",
    "ppo_scorer",
    "read_genes",
    "run_search",
    "search_from_dict",
]
