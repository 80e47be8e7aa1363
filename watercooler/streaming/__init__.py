"""Mastodon's streaming API behind the endpoints: the streams, the per-process hub that tails
the store, and the fan-out that decides which reader gets which event."""
