"""What outlives a run: the cache (its backends and the keys entries are stored under) and conversation threads.

backends: the cache (`RAGLOOP_CACHE_URL`: memory, SQLite, Redis) and the threads' checkpointer
(`RAGLOOP_THREADS_URL`: SQLite, PostgreSQL). cache_keys: what each cached node's entry and a whole
answer are keyed on, derived from the settings' `invalidates` metadata.
"""
