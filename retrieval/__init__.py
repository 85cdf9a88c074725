"""Loading, chunking, indexing and hybrid search: the on-disk index (index.py, versions.py), its parts
(bm25.py, fusion.py), the file loaders, and store.py, where the index a Context names meets its embedder."""
