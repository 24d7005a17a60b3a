"""cache-sync: mirror the metal-api's images from a store into a partition and serve them.

planner (pure: what to keep, download, delete), syncer (the I/O of one round),
server (HTTP with /health, /metrics and a 307 to the real store on a miss).
"""
