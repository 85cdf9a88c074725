"""Loading, chunking, indexing and hybrid search: the parts of retrieval that are not graph nodes."""
