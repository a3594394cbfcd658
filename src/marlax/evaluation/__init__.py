"""Evaluation of trained policies (`marlax eval`): batched episodes, intervals, comparisons.

    results = jitted_run_episodes(key, env=env, policy=policy, num_episodes=256)  # episodes
    evaluation = summarize_episodes(results, has_win=win_condition(env) is not None)  # summary
    evaluation.team_return        # Estimate(mean, low, high): 95% percentile bootstrap

`stats` holds the NumPy statistics (bootstrap intervals, IQM, probability of improvement),
`episodes` the jitted runner, `wins` which envs define a win, `summary` per-policy summaries,
`report` eval.json and the table, `comparison` IQM and P(X > Y) across runs.
"""
