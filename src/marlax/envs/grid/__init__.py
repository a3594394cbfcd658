"""Shared pieces of the grid worlds: tile ids, map noise, spawn cells, egocentric views,
rendering, and the one check of their shared settings (`settings.require_grid_settings`).

Env folders import from here, never from a sibling env.

Conventions for every grid world:
- maps are indexed `[x, y]` with shape `[W, H]`; positions are `i32[..., 2]` as (x, y);
- action ids: 0 up (y+1), 1 right (x+1), 2 down (y-1), 3 left (x-1), 4 stay,
  5 attack, 6 dig (see `tiles.py`);
- observations are egocentric `i32[N, V, V, C]` crops of small-integer channels:
  channel 0 the terrain tile id (`Tile`), channel 1 the agent seen there
  (`Unit`), further channels env-specific; the map edge is padded with walls.
"""
