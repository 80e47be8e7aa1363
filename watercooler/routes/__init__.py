"""Starlette endpoints, a few lines each: parse, call one function, answer."""
