"""Ceilings: tiny bare apps of the same stack (Starlette, uvicorn, our signature code, orjson,
sqlite3), doing only the irreducible part of a scenario. A scenario's figure is reported as a
ratio to its ceiling measured in the same run on the same machine."""
