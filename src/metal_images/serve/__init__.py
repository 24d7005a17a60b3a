"""HTTP server for a store directory (aiohttp)."""
